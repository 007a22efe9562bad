"""Ask a running `rpc-server` how much memory its devices have.

`llamadeck plan --rpc HOST:PORT` without a size asks the server itself, the
way llama.cpp does before it places layers. The protocol is ggml-rpc's
(ggml/src/ggml-rpc/ggml-rpc.cpp, llama.cpp as vendored in llama-cpp-python
0.3.36, protocol 7.0.0), little-endian:

* request `| command (1 byte) | payload size (8 bytes) | payload |`,
  reply `| payload size (8 bytes) | payload |`;
* HELLO (14) first: 24 bytes of connection capabilities (zeros: plain TCP),
  reply major, minor, patch, padding and 24 bytes of capabilities;
* DEVICE_COUNT (15): no payload, reply uint32;
* GET_DEVICE_MEMORY (11): uint32 device, reply uint64 free, uint64 total.

An rpc-server serves one client at a time, so one that a llama-server is
using does not answer until that llama-server lets go; the timeout's
sentence says so.
"""

from __future__ import annotations

import socket
import struct

from core.errors import HardwareError

CMD_GET_DEVICE_MEMORY = 11
CMD_HELLO = 14
CMD_DEVICE_COUNT = 15
PROTO_MAJOR = 7
CAPS_SIZE = 24
MAX_DEVICES = 64


def _recv(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        part = sock.recv(n - len(buf))
        if not part:
            raise ConnectionError("the server closed the connection")
        buf += part
    return bytes(buf)


def _call(sock: socket.socket, cmd: int, payload: bytes, reply_size: int) -> bytes:
    sock.sendall(struct.pack("<BQ", cmd, len(payload)) + payload)
    (size,) = struct.unpack("<Q", _recv(sock, 8))
    if size != reply_size:
        raise ValueError(f"a {size}-byte reply to command {cmd} where {reply_size} bytes were expected")
    return _recv(sock, size)


def device_memory(endpoint: str, *, timeout: float = 3.0) -> list[tuple[int, int]]:
    """(free, total) bytes of each device the rpc-server at `endpoint` (host:port) serves."""
    host, _, port = endpoint.rpartition(":")
    host = host.strip("[]")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            hello = _call(sock, CMD_HELLO, bytes(CAPS_SIZE), 4 + CAPS_SIZE)
            if hello[0] != PROTO_MAJOR:
                raise HardwareError(
                    f"The rpc-server at {endpoint} speaks RPC protocol {hello[0]}.{hello[1]}.{hello[2]}; "
                    f"llamadeck reads {PROTO_MAJOR}.x.",
                    hint=f"Give its memory instead: --rpc {endpoint}=12G.",
                )
            (count,) = struct.unpack("<I", _call(sock, CMD_DEVICE_COUNT, b"", 4))
            if not 0 < count <= MAX_DEVICES:
                raise ValueError(f"{count} devices")
            out = []
            for dev in range(count):
                reply = _call(sock, CMD_GET_DEVICE_MEMORY, struct.pack("<I", dev), 16)
                free, total = struct.unpack("<QQ", reply)
                out.append((free, total))
            return out
    except TimeoutError:
        raise HardwareError(
            f"The rpc-server at {endpoint} did not answer in {timeout:g} s. It serves one client at a time: "
            "is a llama-server using it?",
            hint=f"Stop that llama-server, or give the memory yourself: --rpc {endpoint}=12G.",
        ) from None
    except (OSError, ConnectionError) as exc:
        raise HardwareError(
            f"Could not reach an rpc-server at {endpoint} ({getattr(exc, 'strerror', None) or exc}).",
            hint=f"Start it there with `rpc-server -H 0.0.0.0 -p {port}`, or give its memory: "
                 f"--rpc {endpoint}=12G.",
        ) from None
    except (ValueError, struct.error) as exc:
        raise HardwareError(
            f"What answered at {endpoint} is not an rpc-server llamadeck can read ({exc}).",
            hint=f"Check the port, or give the memory yourself: --rpc {endpoint}=12G.",
        ) from None
