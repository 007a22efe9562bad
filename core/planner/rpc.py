"""Several machines as one: llama.cpp's RPC backend in the plan.

A user with a 16 GB box and a 12 GB box runs a 70B across both: each other
box runs `rpc-server` (ggml-rpc-server), and `llama-server --rpc
host:port,...` on this one treats every remote server as one more device.
Facts from llama.cpp as vendored in llama-cpp-python 0.3.36:

* Device order (src/llama.cpp, `llama_model_load_from_file_impl`): RPC
  devices go at the *front* of the list, local GPUs after them, so the first
  layers run remotely and the last ones (and the output layer) here.
* An RPC device reports the free memory of what it serves
  (ggml-rpc.cpp, GET_DEVICE_MEMORY); it has no op offload.
* Per token, the hidden state crosses every boundary between devices (a
  round trip for each remote device: SET_TENSOR, GRAPH_COMPUTE, GET_TENSOR);
  per prompt micro-batch, n_ubatch hidden states do.
* At load, each remote device's weights cross the network once; with
  `rpc-server -c` the server keeps them in its cache (LLAMA_CACHE) and later
  loads send only hashes (SET_TENSOR_HASH).

`HOST:PORT=SIZE` names a device's memory (`12G`, `12288M`: with its unit, since
a bare number is a card); `HOST:PORT=CARD`
takes memory and bandwidth from the card table; a bare `HOST:PORT` asks the
server (core.hardware.rpc_probe does, before planning).
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.errors import PlannerError
from core.hardware.rpc_probe import device_memory
from core.planner.cards import GIB, find_card
from core.planner.types import GpuSpec, MachineSpec, Plan, QuantRow

DEFAULT_PORT = 50052  # rpc-server's default (tools/rpc/rpc-server.cpp)
DEFAULT_LINK_GBIT = 1.0  # gigabit Ethernet, what two desktops usually share
DEFAULT_RTT_S = 0.0005  # a LAN round trip with the RPC server's own handling
# A remote device named by size only: a mid-range card's memory bandwidth, said in a notice.
ASSUMED_REMOTE_BANDWIDTH = 300e9
ASSUMED_REMOTE_TFLOPS = 40.0

# a size has its unit: a bare number is a card ("3060"), as in --gpu
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(g|gb|gib|m|mb|mib)$", re.IGNORECASE)
_ENDPOINT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


@dataclass(frozen=True)
class RpcDevice:
    """One remote device as typed: where it is, and what the user said of it (nothing, a size or a card)."""

    endpoint: str  # host:port
    memory: int | None = None  # bytes; None: ask the server
    card: str | None = None  # a card-table name that gives memory and bandwidth
    index: int = 0  # which of the server's devices (rpc-server -d a,b serves several)

    @property
    def label(self) -> str:
        return self.endpoint if self.index == 0 else f"{self.endpoint}/{self.index}"


@dataclass(frozen=True)
class RpcLink:
    """The network between this machine and the RPC servers (round trips: DEFAULT_RTT_S)."""

    bandwidth: float = DEFAULT_LINK_GBIT * 1e9 / 8  # bytes/s


DEFAULT_LINK = RpcLink()


def _size(text: str) -> int | None:
    m = _SIZE.match(text.strip())
    if m is None:
        return None
    unit = m.group(2).lower()
    return int(float(m.group(1)) * (GIB if unit.startswith("g") else 1024**2))


def parse_rpc(texts: Sequence[str]) -> tuple[RpcDevice, ...]:
    """`HOST:PORT[=SIZE|=CARD]`, comma-separated or one per flag, in llama.cpp's device order."""
    out = []
    for text in texts:
        for part in (p.strip() for p in text.split(",")):
            if part:
                out.append(_one(part))
    seen = set()
    for d in out:
        if d.endpoint in seen:
            raise PlannerError(f"{d.endpoint} is named twice.",
                               hint="Each rpc-server is one device; give it once.")
        seen.add(d.endpoint)
    return tuple(out)


def _one(part: str) -> RpcDevice:
    where, _, what = part.partition("=")
    where = where.strip()
    if ":" not in where:
        where = f"{where}:{DEFAULT_PORT}"
    m = _ENDPOINT.match(where)
    if m is None or not 0 < int(m.group(2)) < 65536:
        raise PlannerError(f"{part!r} is not an RPC server.",
                           hint="Write HOST:PORT, HOST:PORT=12G or HOST:PORT=3060.")
    if not what.strip():
        return RpcDevice(where)
    size = _size(what)
    if size is not None:
        if size <= 0:
            raise PlannerError(f"{part!r} gives the device no memory.")
        return RpcDevice(where, memory=size)
    found = find_card(what)
    if found is None:
        raise PlannerError(f"{what.strip()!r} in {part!r} is neither a size nor a known card.",
                           hint="Write a size such as 12G, or a card such as 3060.")
    return RpcDevice(where, memory=found.memory, card=found.name)


def ask_servers(devices: Sequence[RpcDevice],
                ask: Callable[[str], list[tuple[int, int]]] = device_memory) -> tuple[RpcDevice, ...]:
    """Each bare HOST:PORT becomes one device per device its server serves, with the free memory it reports
    (what llama.cpp's fit sees). Blocks on the network: call it from a thread or the CLI."""
    out: list[RpcDevice] = []
    for d in devices:
        if d.memory is not None:
            out.append(d)
        else:
            found = ask(d.endpoint)
            out += [RpcDevice(d.endpoint, memory=free, index=i) for i, (free, _) in enumerate(found)]
    return tuple(out)


def parse_link(text: str) -> RpcLink:
    """The network as typed: `1` (Gbit/s), `2.5`, `10`."""
    try:
        gbit = float(text)
    except ValueError:
        raise PlannerError(f"{text!r} is not a link speed in Gbit/s.", hint="Write 1, 2.5 or 10.") from None
    if not 0.01 <= gbit <= 1000:
        raise PlannerError(f"A {gbit:g} Gbit/s link is out of range.", hint="Use 0.01 to 1000 Gbit/s.")
    return RpcLink(bandwidth=gbit * 1e9 / 8)


def with_rpc(machine: MachineSpec, devices: Sequence[RpcDevice], link: RpcLink = DEFAULT_LINK) -> MachineSpec:
    """`machine` with the remote devices in front of its GPUs, as llama.cpp orders them.

    Every device must know its memory by now (from the user or the server).
    """
    if not devices:
        return machine
    remote: list[GpuSpec] = []
    notices = list(machine.notices)
    guessed = []
    for i, d in enumerate(devices):
        if d.memory is None:
            raise PlannerError(f"The memory of {d.endpoint} is not known.",
                               hint=f"Give it as {d.endpoint}=12G, or let llamadeck ask the server.")
        found = find_card(d.card) if d.card else None
        bandwidth = found.bandwidth if found else ASSUMED_REMOTE_BANDWIDTH
        tflops = found.tflops if found else ASSUMED_REMOTE_TFLOPS
        if found is None:
            guessed.append(d.label)
        label = f"RPC{i} {d.label}" + (f" {found.name}" if found else "")
        remote.append(GpuSpec(label, d.memory, bandwidth, tflops, pcie_bandwidth=link.bandwidth, kind="rpc"))
    if guessed:
        notices.append(f"The speed of {', '.join(guessed)} assumes {ASSUMED_REMOTE_BANDWIDTH / 1e9:.0f} GB/s "
                       "of memory bandwidth; name the card (HOST:PORT=3060) for its own figure.")
    notices.append(f"RPC devices are reached over a {link.bandwidth * 8 / 1e9:g} Gbit/s link with "
                   f"{DEFAULT_RTT_S * 1000:g} ms round trips (--rpc-link GBIT to change the link).")
    servers = ", ".join(dict.fromkeys(d.endpoint for d in devices))
    name = f"{machine.name} + {servers}" if machine.name else servers
    return dataclasses.replace(machine, gpus=(*remote, *machine.gpus), notices=tuple(notices), name=name)


def network_seconds(machine: MachineSpec, used: Sequence[bool], hidden_bytes: int,
                    n_tokens: int = 1) -> float:
    """Time the network adds to one forward pass of `n_tokens`: every RPC device that holds layers
    receives the hidden states and sends them on, with one round trip."""
    seconds = 0.0
    for g, holds in zip(machine.gpus, used, strict=False):
        if g.kind == "rpc" and holds:
            seconds += DEFAULT_RTT_S + 2 * hidden_bytes * n_tokens / g.pcie_bandwidth
    return seconds


def load_seconds(weights_on_remote: int, link: RpcLink = DEFAULT_LINK) -> float:
    """The first load: the remote devices' weights over the link (later loads hit `rpc-server -c`'s cache)."""
    return weights_on_remote / link.bandwidth


def rpc_endpoints(machine: MachineSpec) -> list[str]:
    """The rpc-servers a machine built by `with_rpc` reaches, in order (devices named `RPC<i> HOST:PORT`)."""
    names = [g.name.split()[1].split("/")[0] for g in machine.gpus
             if g.kind == "rpc" and len(g.name.split()) > 1]
    return list(dict.fromkeys(names))


def rpc_commands(devices: Sequence[RpcDevice] | Sequence[str], llama_server: str) -> list[str]:
    """`rpc-server` for each remote box, then this box's llama-server with --rpc."""
    lines = []
    endpoints = [d if isinstance(d, str) else d.endpoint for d in devices]
    for endpoint in dict.fromkeys(endpoints):
        host, _, port = endpoint.rpartition(":")
        lines.append(f"on {host}: " + shlex.join(["rpc-server", "-H", "0.0.0.0", "-p", port, "-c"]))
    lines.append(f"here: {llama_server} --rpc {','.join(dict.fromkeys(endpoints))}")
    return lines


def rpc_summary(p: Plan, row: QuantRow, link: RpcLink = DEFAULT_LINK) -> list[str]:
    """What the remote devices hold for `row` and what the first load costs, in sentences."""
    remote = {g.name for g in p.inputs.machine.gpus if g.kind == "rpc"}
    held = [d for d in row.memory.devices if d.device in remote]
    if not held or row.placement == "none":
        return []
    sent = sum(d.weights for d in held)
    parts = ", ".join(f"{d.device} {d.layers} layers ({d.weights / GIB:.1f} GiB)" for d in held if d.layers)
    out = [f"Remote devices: {parts or 'none used'}."]
    if sent:
        gbit = link.bandwidth * 8 / 1e9
        out.append(f"The first load sends {sent / GIB:.1f} GiB over the {gbit:g} Gbit/s link (about "
                   f"{load_seconds(sent, link):.0f} s); with rpc-server -c later loads read it from the "
                   "servers' own cache.")
    return out
