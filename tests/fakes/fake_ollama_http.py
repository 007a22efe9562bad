"""The fake Ollama's HTTP layer: request bodies, JSON answers, chunked NDJSON streams, faults.

Streams are HTTP/1.1 chunked, one chunk per NDJSON line, written straight to
the socket so the client sees each line when it is sent. Errors follow
Ollama's `streamResponse`: before the first line an error is an HTTP status
with `{"error": ...}`; after it, an `{"error": ...}` line while the status
stays 200.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from tests.fakes.fake_ollama import FakeOllama

DIGEST_RE = re.compile(r"^sha256[:-]([0-9a-f]{64})$")

def dumps(value: Any) -> str:
    """Compact JSON, as Go's encoder writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class HttpError(Exception):
    """An answer with an error status (or, once a stream has started, an error line)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Dropped(Exception):
    """The connection was closed on purpose (a fault) or by the client."""


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased: HTTP header names are case-insensitive
    body: Any = None  # parsed JSON, or None


@dataclass
class Reply:
    status: int
    body: Any = None
    content_type: str = "application/json; charset=utf-8"


@dataclass
class Stream:
    lines: Iterator[dict[str, Any]]
    stream: bool = True  # False: only the last line is sent, as one JSON answer



def request_name(body: Any, *keys: str) -> str:
    """The first non-empty string among `keys` of a JSON body (Ollama accepts `model` or `name`)."""
    if not isinstance(body, dict):
        raise HttpError(400, "missing request body")
    for key in keys:
        value = body.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-ollama"

    @property
    def fake(self) -> FakeOllama:
        return self.server.fake  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `fake.requests`
        pass

    def setup(self) -> None:
        super().setup()
        with self.fake.lock:
            self.fake._conns.add(self.connection)
        self.fake.local.connection = self.connection  # so a held reply can notice a client that left

    def finish(self) -> None:
        with suppress(OSError):
            super().finish()
        with self.fake.lock:
            self.fake._conns.discard(self.connection)

    def handle(self) -> None:
        # A client that resets a kept-alive connection is normal; Ollama just drops it too.
        with suppress(OSError):
            super().handle()

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def do_HEAD(self) -> None:
        self.dispatch("HEAD")

    # ------------------------------------------------------------------ request bodies

    def iter_body(self) -> Iterator[bytes]:
        if self._body_read:
            return
        self._body_read = True
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                piece = self.rfile.read(min(left, 1 << 20))
                if not piece:
                    return
                left -= len(piece)
                yield piece

    def drain_body(self) -> None:
        for _ in self.iter_body():
            pass

    # ------------------------------------------------------------------ answers

    def dispatch(self, method: str) -> None:
        fake = self.fake
        path = urlsplit(self.path).path
        self._body_read = False
        self._lines = 0
        self._started = False
        self.fault = fake.take_fault(method, path)
        try:
            body: Any = None
            if not (method == "POST" and path.startswith("/api/blobs/")):
                raw = b"".join(self.iter_body())
                if raw:
                    try:
                        body = json.loads(raw)
                    except json.JSONDecodeError:
                        self.send_json(400, {"error": "invalid character in request body"})
                        return
            headers = {k.lower(): v for k, v in self.headers.items()}
            with fake.lock:
                fake.requests.append(RecordedRequest(method, path, headers, body))
            if self.fault is not None:
                fake.sleep(self.fault.delay)
                if self.fault.drop_after == 0:
                    self.drop()
                if self.fault.status is not None:
                    self.drain_body()
                    self.send_json(self.fault.status, {"error": self.fault.error})
                    return
            try:
                answer = fake.route(method, path, body, self)
            except HttpError as exc:
                self.drain_body()
                self.send_json(exc.status, {"error": exc.message})
                return
            if isinstance(answer, Reply):
                self.send_reply(answer)
            else:
                self.send_stream(answer)
        except (Dropped, BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def drop(self) -> None:
        with suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True
        raise Dropped

    def send_json(self, status: int, body: Any) -> None:
        self.send_reply(Reply(status, body))

    def send_reply(self, reply: Reply) -> None:
        if reply.body is None:
            data = b""
        elif isinstance(reply.body, str):
            data = reply.body.encode()
        else:
            data = dumps(reply.body).encode()
        if self.fault is not None and self.fault.malformed_after is not None and reply.status < 400:
            data = b'{"models": [{"name": "trunc'
        self.send_response(reply.status)
        if data or reply.status >= 400:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_stream(self, stream: Stream) -> None:
        if not stream.stream:
            last: dict[str, Any] | None = None
            try:
                for last in stream.lines:  # noqa: B007 - only the final answer is sent
                    pass
            except HttpError as exc:
                self.send_json(exc.status, {"error": exc.message})
                return
            self.send_json(200, last)
            return
        try:
            for line in stream.lines:
                self.write_line(dumps(line))
        except HttpError as exc:
            if not self._started:
                self.send_json(exc.status, {"error": exc.message})
                return
            self.write_line(dumps({"error": exc.message}), count=False)
        except Ended:
            pass
        self.start_stream()
        self.wfile.write(b"0\r\n\r\n")

    def start_stream(self) -> None:
        if not self._started:
            self._started = True
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

    def write_line(self, text: str, *, count: bool = True) -> None:
        fault = self.fault
        if count and fault is not None:
            if fault.drop_after is not None and self._lines >= fault.drop_after:
                self.start_stream()
                self.drop()
            if fault.malformed_after is not None and self._lines >= fault.malformed_after:
                self.write_line('{"status": "pulling 6a07', count=False)
                raise Ended
            if fault.error_line_after is not None and self._lines >= fault.error_line_after:
                self.write_line(dumps({"error": fault.error}), count=False)
                raise Ended
        self.start_stream()
        data = (text + "\n").encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))  # one chunk per line: the client sees it now
        self.wfile.flush()
        if count:
            self._lines += 1


class Ended(Exception):
    """A fault ended the stream early (after a malformed or error line)."""

