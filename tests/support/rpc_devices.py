"""llama.cpp devices of a chosen memory size on a machine without a GPU.

llama.cpp's RPC backend turns each `ggml-rpc-server` into one more device
for placement (a GPU-type device, ggml/src/ggml-rpc/ggml-rpc.cpp
`ggml_backend_rpc_device_get_type`). The server reports the memory of what it
serves, here this machine's CPU, and has no option to report anything else
(tools/rpc/rpc-server.cpp in llama.cpp as vendored in llama-cpp-python
0.3.36 takes -H, -p, -t, -d and -c only). So each server gets a small proxy
in front of it that passes the RPC protocol through unchanged except the
reply to GET_DEVICE_MEMORY, whose free and total it rewrites to the chosen
size. llama.cpp's `--fit` then places layers as it would on a device of that
size (llama-fit-params allocates nothing, so the size need not exist).

The framing, from ggml-rpc.cpp (0.3.36, protocol 7.0.0), little-endian:

* request:  | command (1 byte) | payload size (8 bytes) | payload |
  (`send_rpc_cmd`); the first request on a connection is HELLO.
* reply:    | payload size (8 bytes) | payload |  (`send_msg`), sent only for
  the commands in COMMANDS_WITH_REPLY (`rpc_serve_client`), in order; the
  server serves one request at a time, so replies come in request order.
* GET_DEVICE_MEMORY (11): request {uint32 device}, reply {uint64 free_mem,
  uint64 total_mem} (`rpc_msg_get_device_memory_rsp`).

HELLO carries transport capabilities (RDMA when built with it); the proxy
zeroes the client's, so the connection stays plain TCP through the proxy.

`ggml-rpc-server` serves one client at a time (`ggml_backend_rpc_start_server`
accepts the next only after the last closes), so every device has its own
server, and runs of llama.cpp against them follow one another.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.llama_server import free_port
from tests.support.llamacpp import LlamaCppTools

CMD_HELLO = 14
CMD_GET_DEVICE_MEMORY = 11
# ALLOC_BUFFER, GET_ALIGNMENT, GET_MAX_SIZE, BUFFER_GET_BASE, SET_TENSOR_HASH, GET_TENSOR, COPY_TENSOR,
# GET_DEVICE_MEMORY, GET_ALLOC_SIZE, HELLO, DEVICE_COUNT; FREE_BUFFER (4), BUFFER_CLEAR (5), SET_TENSOR (6),
# GRAPH_COMPUTE (10), INIT_TENSOR (12), GRAPH_RECOMPUTE (16) and MEMSET_TENSOR (17) have no reply.
COMMANDS_WITH_REPLY = frozenset({0, 1, 2, 3, 7, 8, 9, 11, 13, 14, 15})
N_COMMANDS = 19  # RPC_CMD_COUNT: the server drops a connection that sends a higher one
_CHUNK = 1 << 20


class ProtocolError(RuntimeError):
    """The stream does not follow the framing above (or a side closed mid-message)."""


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """n bytes, or None when the peer closed before the first byte."""
    buf = bytearray()
    while len(buf) < n:
        part = sock.recv(min(n - len(buf), _CHUNK))
        if not part:
            if not buf:
                return None
            raise ProtocolError(f"connection closed after {len(buf)} of {n} bytes")
        buf += part
    return bytes(buf)


def _copy(src: socket.socket, dst: socket.socket, n: int) -> None:
    """Stream n bytes without holding them (SET_TENSOR carries whole weight tensors)."""
    while n:
        part = src.recv(min(n, _CHUNK))
        if not part:
            raise ProtocolError(f"connection closed with {n} bytes of a message to go")
        dst.sendall(part)
        n -= len(part)


def memory_reply(free: int, total: int) -> bytes:
    return struct.pack("<QQ", free, total)


class MemoryProxy:
    """Listens on 127.0.0.1; each connection is forwarded to `upstream` with the memory reply rewritten."""

    def __init__(self, upstream: tuple[str, int], free: int, total: int | None = None) -> None:
        self.upstream = upstream
        self.free = free
        self.total = free if total is None else total
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self.errors: list[BaseException] = []  # what a pump met, for a test to look at
        self._thread = threading.Thread(target=self._accept, name=f"rpc-proxy-{self.port}", daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.upstream)
            except OSError as err:
                self.errors.append(err)
                client.close()
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    server.close()
                    return
                self._conns += [client, server]
            pending: deque[int] = deque()
            for target in (self._requests, self._replies):
                args = (target, client, server, pending)
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(self, target: object, client: socket.socket, server: socket.socket,
              pending: deque[int]) -> None:  # fmt: skip
        try:
            target(client, server, pending)  # type: ignore[operator]
        except (OSError, ProtocolError) as err:
            if not self._closed:
                self.errors.append(err)
        finally:
            for s in (client, server):  # one side gone: the other is of no use
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def _requests(self, client: socket.socket, server: socket.socket, pending: deque[int]) -> None:
        while True:
            head = _recv_exact(client, 9)
            if head is None:
                return
            cmd, size = head[0], struct.unpack("<Q", head[1:])[0]
            if cmd >= N_COMMANDS:
                raise ProtocolError(f"unknown RPC command {cmd}")
            if cmd in COMMANDS_WITH_REPLY:
                pending.append(cmd)  # before the request goes on: its reply cannot come earlier
            if cmd == CMD_HELLO:
                body = _recv_exact(client, size) or b""
                server.sendall(head + bytes(len(body)))  # conn_caps zeroed: no transport upgrade
            else:
                server.sendall(head)
                _copy(client, server, size)

    def _replies(self, client: socket.socket, server: socket.socket, pending: deque[int]) -> None:
        while True:
            head = _recv_exact(server, 8)
            if head is None:
                return
            size = struct.unpack("<Q", head)[0]
            if not pending:
                raise ProtocolError("a reply came for no request that has one")
            cmd = pending.popleft()
            if cmd == CMD_GET_DEVICE_MEMORY and size == 16:
                _recv_exact(server, 16)
                client.sendall(head + memory_reply(self.free, self.total))
            else:
                client.sendall(head)
                _copy(server, client, size)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._conns = self._conns, []
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class RpcDevices:
    """The running devices: `rpc_arg` is what `--rpc` takes; device i is llama.cpp's RPC<i>."""

    endpoints: tuple[str, ...]
    sizes: tuple[int, ...]  # bytes each device reports, free and total

    @property
    def rpc_arg(self) -> str:
        return ",".join(self.endpoints)


def _wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
    """True once the server accepts connections; False if it exited (its port was taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True  # the server serves this empty client and closes it: harmless
        time.sleep(0.05)
    raise RuntimeError(f"ggml-rpc-server did not listen on port {port} within {timeout:.0f} s")


def _start_server(tools: LlamaCppTools, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    for _ in range(5):  # a port picked free can be taken before the server binds it
        port = free_port()
        cmd = [str(tools.tool("ggml-rpc-server")), "-H", "127.0.0.1", "-p", str(port), "-t", "1"]
        with log.open("ab") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        if _wait_listening(proc, port, timeout=30):
            return proc, port
        proc.wait()
    raise RuntimeError(f"ggml-rpc-server would not start; see {log}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@contextlib.contextmanager
def rpc_devices(tools: LlamaCppTools, sizes: Sequence[int], log_dir: Path) -> Iterator[RpcDevices]:
    """One ggml-rpc-server per size (bytes), each behind a proxy that reports that size.

    The servers run in their own process groups and are killed on the way
    out, whatever happens; their output goes to `log_dir/rpc-server-<i>.log`.
    """
    procs: list[subprocess.Popen[bytes]] = []
    proxies: list[MemoryProxy] = []
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        for i, size in enumerate(sizes):
            proc, port = _start_server(tools, log_dir / f"rpc-server-{i}.log")
            procs.append(proc)
            proxies.append(MemoryProxy(("127.0.0.1", port), size))
        yield RpcDevices(tuple(p.endpoint for p in proxies), tuple(sizes))
    finally:
        for proxy in proxies:
            proxy.close()
        for proc in procs:
            _stop(proc)
