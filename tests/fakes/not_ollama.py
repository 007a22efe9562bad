"""A server on Ollama's port that is not Ollama: error pages, echoed headers, or no answer at all.

What users meet in the wild: a reverse proxy or some other web server
answering every path with an HTML error page, a proxy whose error text echoes
the request's headers (bearer token included), and a server that accepts the
connection and then says nothing for minutes. Real HTTP on 127.0.0.1 in a
thread, like the fake Ollama.

`hold` makes every request wait (before any byte of the answer) until the test
calls `release()`; `holding` is set while a request waits, so a test waits on
that state, never on a sleep.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def nginx_page(status: int, reason: str, filler: int = 4000) -> str:
    """An error page like a proxy's, padded with markup the sentence must not show."""
    padding = "<!-- a padding comment -->\n" * (filler // 28)
    return (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
            f"{padding}</body>\r\n</html>\r\n")


@dataclass
class NotOllama:
    status: int = 404
    reason: str = "Not Found"
    body: str | None = None  # None: nginx_page(status, reason)
    content_type: str = "text/html"
    # Quote the request's credential headers (authorization, cookie, *key*) as "name: value" at
    # {headers} in the body, or after it, as some proxies' error pages do.
    echo_headers: bool = False
    echo_separator: str = "\n"
    hold: bool = False
    holding: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    seen: list[str] = field(default_factory=list)  # "METHOD /path" of each request, in order

    def __post_init__(self) -> None:
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def release(self) -> None:
        self.released.set()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        self.seen.append(f"{handler.command} {handler.path}")
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        if self.hold:
            self.holding.set()
            self.released.wait()
        text = self.body if self.body is not None else nginx_page(self.status, self.reason)
        if self.echo_headers:
            echoed = self.echo_separator.join(
                f"{k.lower()}: {v}" for k, v in handler.headers.items()
                if k.lower() in ("authorization", "cookie") or "key" in k.lower())
            text = text.replace("{headers}", echoed) if "{headers}" in text else f"{text}\n{echoed}"
        data = text.encode()
        handler.send_response(self.status, self.reason)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def start(self) -> NotOllama:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle(self) -> None:
                with suppress(OSError):
                    super().handle()

            def do_GET(self) -> None:
                fake.answer(self)

            do_POST = do_DELETE = do_HEAD = do_GET

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="not-ollama", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()  # held handlers answer and end
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


@contextmanager
def not_ollama(**kwargs: Any) -> Iterator[NotOllama]:
    server = NotOllama(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
