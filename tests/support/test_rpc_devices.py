"""The RPC proxy against a stand-in server that speaks ggml-rpc's framing (no llama.cpp needed).

The stand-in answers like `rpc_serve_client` (ggml-rpc.cpp, llama.cpp as
vendored in llama-cpp-python 0.3.36): a reply for the commands that have one,
nothing for the others. The end-to-end check against the real
`ggml-rpc-server` and `llama-fit-params` is in tests/e2e/test_rpc_devices.py.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from tests.support.rpc_devices import (
    CMD_GET_DEVICE_MEMORY,
    CMD_HELLO,
    COMMANDS_WITH_REPLY,
    MemoryProxy,
    memory_reply,
)

REAL_FREE, REAL_TOTAL = 20 << 30, 23 << 30
CMD_SET_TENSOR, CMD_GET_TENSOR, CMD_GET_ALIGNMENT = 6, 8, 1


def _recv(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        assert part, "closed early"
        buf += part
    return buf


class StandIn:
    """One connection at a time, like ggml-rpc-server; records what it received."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[tuple[int, bytes]] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            while True:
                head = conn.recv(1)
                if not head:
                    return
                cmd = head[0]
                size = struct.unpack("<Q", _recv(conn, 8))[0]
                body = _recv(conn, size)
                self.received.append((cmd, body))
                if cmd == CMD_HELLO:
                    reply = bytes([7, 0, 0, 0]) + b"\x01" * (len(body))
                elif cmd == CMD_GET_DEVICE_MEMORY:
                    reply = memory_reply(REAL_FREE, REAL_TOTAL)
                elif cmd == CMD_GET_TENSOR:
                    reply = bytes(range(256)) * (struct.unpack("<Q", body[-8:])[0] // 256)
                elif cmd in COMMANDS_WITH_REPLY:
                    reply = struct.pack("<Q", 32)
                else:
                    continue
                conn.sendall(struct.pack("<Q", len(reply)) + reply)


@pytest.fixture
def proxied() -> Iterator[tuple[StandIn, MemoryProxy, socket.socket]]:
    server = StandIn()
    proxy = MemoryProxy(("127.0.0.1", server.port), 12 << 30)
    client = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    try:
        yield server, proxy, client
    finally:
        client.close()
        proxy.close()
        server.listener.close()


def _call(client: socket.socket, cmd: int, body: bytes, reply: bool = True) -> bytes | None:
    client.sendall(bytes([cmd]) + struct.pack("<Q", len(body)) + body)
    if not reply:
        return None
    size = struct.unpack("<Q", _recv(client, 8))[0]
    return _recv(client, size)


Proxied = tuple[StandIn, MemoryProxy, socket.socket]


def test_only_the_device_memory_reply_is_rewritten(proxied: Proxied) -> None:
    server, proxy, client = proxied
    hello = _call(client, CMD_HELLO, b"\x05" * 16)
    assert hello is not None and hello[:3] == bytes([7, 0, 0])
    # a weight upload (no reply) of several chunks, then commands whose replies must stay in order
    tensor = bytes(range(256)) * (3 * 4096 + 7)
    _call(client, CMD_SET_TENSOR, tensor, reply=False)
    assert _call(client, CMD_GET_ALIGNMENT, struct.pack("<I", 0)) == struct.pack("<Q", 32)
    mem = _call(client, CMD_GET_DEVICE_MEMORY, struct.pack("<I", 0))
    assert mem == memory_reply(12 << 30, 12 << 30)
    got = _call(client, CMD_GET_TENSOR, bytes(8) + struct.pack("<Q", 2 << 20))
    assert got == bytes(range(256)) * ((2 << 20) // 256)  # a 2 MiB reply passes through whole
    assert _call(client, CMD_GET_DEVICE_MEMORY, struct.pack("<I", 0)) == memory_reply(12 << 30, 12 << 30)
    assert proxy.errors == []
    cmds = [c for c, _ in server.received]
    assert cmds == [CMD_HELLO, CMD_SET_TENSOR, CMD_GET_ALIGNMENT, CMD_GET_DEVICE_MEMORY, CMD_GET_TENSOR,
                    CMD_GET_DEVICE_MEMORY]  # fmt: skip
    assert server.received[1][1] == tensor
    assert server.received[0][1] == bytes(16)  # transport capabilities zeroed: no RDMA upgrade past us


def test_free_and_total_can_differ() -> None:
    server = StandIn()
    proxy = MemoryProxy(("127.0.0.1", server.port), 10 << 30, total=16 << 30)
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as client:
            _call(client, CMD_HELLO, bytes(16))
            got = _call(client, CMD_GET_DEVICE_MEMORY, struct.pack("<I", 0))
            assert got == memory_reply(10 << 30, 16 << 30)
    finally:
        proxy.close()
        server.listener.close()
