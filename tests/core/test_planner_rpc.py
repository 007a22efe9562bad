"""Remote devices in the plan: --rpc as typed, device order, the network's cost, asking a server."""

from __future__ import annotations

import dataclasses
import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from core.errors import HardwareError, PlannerError
from core.facts import catalog
from core.hardware.rpc_probe import device_memory
from core.planner.machine import hypothetical_spec
from core.planner.plan import plan
from core.planner.rpc import (
    RpcDevice,
    RpcLink,
    ask_servers,
    load_seconds,
    parse_link,
    parse_rpc,
    rpc_commands,
    rpc_summary,
    with_rpc,
)
from core.planner.types import MachineSpec

GiB = 1024**3


def test_rpc_devices_as_typed() -> None:
    devs = parse_rpc(["10.0.0.2:50052=12G,10.0.0.3=3060", "box:6000=12288M", "[::1]:7000"])
    assert devs == (
        RpcDevice("10.0.0.2:50052", memory=12 * GiB),
        RpcDevice("10.0.0.3:50052", memory=12 * GiB, card="RTX 3060 12GB"),
        RpcDevice("box:6000", memory=12 * GiB),
        RpcDevice("[::1]:7000"),
    )
    for bad in ("10.0.0.2:99999", "host:port", "10.0.0.2:50052=lots", "a:1=0G"):
        with pytest.raises(PlannerError):
            parse_rpc([bad])
    with pytest.raises(PlannerError, match="named twice"):
        parse_rpc(["a:1=1G", "a:1=2G"])
    assert parse_link("10") == RpcLink(bandwidth=10e9 / 8)
    with pytest.raises(PlannerError):
        parse_link("fast")


def test_remote_devices_come_first_and_take_the_first_layers() -> None:
    """llama.cpp puts RPC devices in front of local GPUs (src/llama.cpp), so they hold the first layers."""
    local = hypothetical_spec(["4060 Ti 16GB"], 64)
    machine = with_rpc(local, parse_rpc(["10.0.0.2:50052=3060"]))
    assert [g.kind for g in machine.gpus] == ["rpc", "cuda"]
    p = plan(catalog.facts("llama3.1:70b"), machine, ctx=8192, quants=("Q4_K_M",))
    rpc, gpu, _ = p.rows[0].memory.devices
    assert rpc.device.startswith("RPC0 10.0.0.2:50052") and rpc.overhead == 0 and gpu.overhead > 0
    assert rpc.layers > 0 and gpu.has_output_layer and not rpc.has_output_layer
    alone = plan(catalog.facts("llama3.1:70b"), local, ctx=8192, quants=("Q4_K_M",)).rows[0]
    assert p.rows[0].n_gpu_layers > alone.n_gpu_layers  # the second box holds layers the first could not
    assert any("Gbit/s" in n for n in p.notices)


def test_the_network_costs_time_per_token_and_per_prompt_batch() -> None:
    facts = catalog.facts("llama3.1:8b")
    local = hypothetical_spec(["3060", "3060"], 64)
    split = dataclasses_replace_gpu(local, 0)
    near = plan(facts, local, ctx=8192, quants=("Q4_K_M",)).rows[0]
    far = plan(facts, split, ctx=8192, quants=("Q4_K_M",)).rows[0]
    slow = plan(facts, dataclasses_replace_gpu(local, 0, gbit=0.1), ctx=8192, quants=("Q4_K_M",)).rows[0]
    assert near.decode_tps and far.decode_tps and slow.decode_tps
    assert slow.decode_tps < far.decode_tps < near.decode_tps
    assert near.prompt_tps and far.prompt_tps and far.prompt_tps < near.prompt_tps


def dataclasses_replace_gpu(machine: MachineSpec, i: int, gbit: float = 1.0) -> MachineSpec:
    """`machine` with GPU i turned into an RPC device of the same card over a `gbit` link."""
    gpus = list(machine.gpus)
    gpus[i] = dataclasses.replace(gpus[i], kind="rpc", pcie_bandwidth=gbit * 1e9 / 8)
    return dataclasses.replace(machine, gpus=tuple(gpus))


def test_commands_and_the_first_load() -> None:
    devs = parse_rpc(["10.0.0.2:50052=12G", "10.0.0.3:50053=12G"])
    lines = rpc_commands(devs, "llama-server -m m.gguf -c 8192")
    assert lines == ["on 10.0.0.2: rpc-server -H 0.0.0.0 -p 50052 -c",
                     "on 10.0.0.3: rpc-server -H 0.0.0.0 -p 50053 -c",
                     "here: llama-server -m m.gguf -c 8192 --rpc 10.0.0.2:50052,10.0.0.3:50053"]
    assert load_seconds(10 * 10**9, RpcLink(bandwidth=125e6)) == pytest.approx(80)
    machine = with_rpc(hypothetical_spec(["4090"], 64), devs)
    p = plan(catalog.facts("llama3.1:70b"), machine, ctx=8192, quants=("Q4_K_M",))
    said = " ".join(rpc_summary(p, p.rows[0]))
    sent = sum(d.weights for d in p.rows[0].memory.devices if d.device.startswith("RPC"))
    assert f"The first load sends {sent / GiB:.1f} GiB over the 1 Gbit/s link" in said


class RpcStandIn:
    """Answers HELLO, DEVICE_COUNT and GET_DEVICE_MEMORY as rpc_serve_client does (ggml-rpc.cpp, 0.3.36)."""

    def __init__(self, devices: list[tuple[int, int]], major: int = 7, silent: bool = False) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.devices, self.major, self.silent = devices, major, silent
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _recv(self, conn: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            part = conn.recv(n - len(buf))
            if not part:
                raise ConnectionError
            buf += part
        return buf

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            try:
                while not self.silent:
                    cmd = self._recv(conn, 1)[0]
                    body = self._recv(conn, struct.unpack("<Q", self._recv(conn, 8))[0])
                    if cmd == 14:
                        reply = bytes([self.major, 0, 0, 0]) + bytes(24)
                    elif cmd == 15:
                        reply = struct.pack("<I", len(self.devices))
                    else:
                        reply = struct.pack("<QQ", *self.devices[struct.unpack("<I", body)[0]])
                    conn.sendall(struct.pack("<Q", len(reply)) + reply)
            except ConnectionError:
                pass
            self.done.wait()

    def close(self) -> None:
        self.done.set()
        self.listener.close()


@pytest.fixture
def stand_in() -> Iterator[list[RpcStandIn]]:
    made: list[RpcStandIn] = []
    yield made
    for s in made:
        s.close()


def test_a_bare_endpoint_asks_the_server_for_each_device(stand_in: list[RpcStandIn]) -> None:
    server = RpcStandIn([(10 * GiB, 12 * GiB), (7 * GiB, 8 * GiB)])
    stand_in.append(server)
    assert device_memory(server.endpoint) == [(10 * GiB, 12 * GiB), (7 * GiB, 8 * GiB)]
    asked = ask_servers(parse_rpc([server.endpoint, "10.0.0.9:1=4G"]), ask=lambda e: [(5 * GiB, 6 * GiB)] * 2)
    assert asked == (RpcDevice(server.endpoint, 5 * GiB, index=0),
                     RpcDevice(server.endpoint, 5 * GiB, index=1), RpcDevice("10.0.0.9:1", 4 * GiB))
    assert asked[1].label == f"{server.endpoint}/1"


def test_a_server_that_cannot_be_asked_gets_a_sentence(stand_in: list[RpcStandIn]) -> None:
    busy = RpcStandIn([], silent=True)  # what a server already serving a llama-server looks like
    old = RpcStandIn([(GiB, GiB)], major=3)
    stand_in += [busy, old]
    with pytest.raises(HardwareError, match=r"did not answer .* is a llama-server using it"):
        device_memory(busy.endpoint, timeout=0.2)
    with pytest.raises(HardwareError, match=r"speaks RPC protocol 3\.0\.0"):
        device_memory(old.endpoint)
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(HardwareError, match=f"Could not reach an rpc-server at 127.0.0.1:{port}") as caught:
        device_memory(f"127.0.0.1:{port}")
    assert f"--rpc 127.0.0.1:{port}=12G" in str(caught.value)


def test_ops_are_offloaded_to_the_first_local_gpu_not_an_rpc_device() -> None:
    """ggml-rpc has no offload_op: the prompt's weight copies go to the CUDA GPU behind the RPC device,
    and with RPC devices only, the CPU runs its layers' products itself (a CPU-sized compute buffer)."""
    facts = catalog.facts("llama3.1:70b")
    mixed = with_rpc(hypothetical_spec(["3060"], 128), parse_rpc(["10.0.0.2:50052=12G"]))
    rpc, cuda, cpu = plan(facts, mixed, ctx=8192, quants=("Q4_K_M",)).rows[0].memory.devices
    only_cuda = plan(facts, hypothetical_spec(["3060"], 128), ctx=8192, quants=("Q4_K_M",)).rows[0]
    local = only_cuda.memory.devices[0]
    assert cuda.compute == local.compute and rpc.compute < cuda.compute  # the copy slot sits on the 3060
    remote_only = with_rpc(hypothetical_spec([], 128), parse_rpc(["10.0.0.2:50052=12G"]))
    row = plan(facts, remote_only, ctx=8192, quants=("Q4_K_M",)).rows[0]
    assert row.placement == "partial"
    host = row.memory.devices[-1]
    assert host.compute > 4 * cpu.compute  # the CPU's own compute buffer, not just the inputs
