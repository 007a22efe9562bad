"""A fake Ollama server: real HTTP on 127.0.0.1, real NDJSON streaming, scriptable faults.

It follows Ollama's docs/api.md and the server's own handlers (server/routes.go,
server/create.go) closely enough that the official `ollama` client and `curl`
both accept it: chunked NDJSON streams flushed line by line, errors as
`{"error": ...}` with the status Ollama uses, an error *line* with HTTP 200 once
a stream has started, the pull status sequence with resumable per-layer
progress, blobs checked against their sha256, and `keep_alive: 0` unloads.

Use it as the `fake_ollama` pytest fixture (registered in tests/conftest.py), or
by hand:  python -m tests.fakes.fake_ollama --port 11434 [--models 500]
"""

from __future__ import annotations

import argparse
import copy
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_ollama_chat import chat_lines, parse_keep_alive
from tests.fakes.fake_ollama_http import (
    Dropped,
    Handler,
    HttpError,
    RecordedRequest,
    Reply,
    Stream,
    request_name,
)
from tests.fakes.fake_ollama_models import (
    ChatScript,
    FakeModel,
    Fault,
    LibraryModel,
    RunningEntry,
    demo_library,
    demo_models,
    normalize_name,
    synthetic_models,
)
from tests.fakes.fake_ollama_transfer import TransferRoutes
from tests.fakes.sockets import peer_closed

__all__ = ["ChatScript", "FakeModel", "FakeOllama", "Fault", "fake_ollama"]


@dataclass
class FakeOllama(TransferRoutes):
    """The server's state and its knobs. Mutate freely from a test; access is locked."""

    blob_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fake-ollama-")))
    host: str = "127.0.0.1"
    port: int = 0
    version: str = "0.12.6"
    models: dict[str, FakeModel] = field(default_factory=dict)
    library: dict[str, LibraryModel] = field(default_factory=demo_library)
    running: dict[str, RunningEntry] = field(default_factory=dict)
    blobs: dict[str, Path] = field(default_factory=dict)  # uploaded blobs: "sha256:<hex>" -> file
    downloaded: dict[str, int] = field(default_factory=dict)  # pulled layer digest -> bytes on "disk"
    script: ChatScript = field(default_factory=ChatScript)
    scripts: dict[str, ChatScript] = field(default_factory=dict)  # per model name
    faults: list[Fault] = field(default_factory=list)
    # The most recent requests, newest last (bounded so a long benchmark run does not grow without end).
    requests: deque[RecordedRequest] = field(default_factory=lambda: deque(maxlen=10_000))
    pull_steps: int = 8  # progress lines per layer
    pull_delay: float = 0.0  # seconds between pull progress lines
    # A layer's download waits at this many bytes until `pull_release` is set
    # (or the client goes away, which keeps the bytes for a resume).
    pull_hold_at: int | None = None
    pull_release: threading.Event = field(default_factory=threading.Event, repr=False)
    default_context: int = 4096
    default_keep_alive: float = 300.0
    tls: ssl.SSLContext | None = None  # serve https with this server-side context
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self.stopping = threading.Event()
        self.local = threading.local()  # the handler thread's connection

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> FakeOllama:
        """Listen (again, on the same port after `stop()`) and serve in a daemon thread."""
        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self.stopping.clear()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-ollama-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection, like a killed `ollama serve`."""
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            conns, self._conns = set(self._conns), set()
        for conn in conns:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @contextmanager
    def refusing(self) -> Iterator[None]:
        """Connections are refused inside the block; the server comes back on the same port after."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.blob_dir, ignore_errors=True)

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ knobs

    def add_fault(self, **kwargs: Any) -> Fault:
        """Inject a fault, e.g. `add_fault(path="/api/pull", drop_after=3, times=1)`."""
        fault = Fault(**kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def add_model(self, model: FakeModel) -> FakeModel:
        with self.lock:
            self.models[model.name] = model
        return model

    def set_script(self, model: str | None = None, **kwargs: Any) -> ChatScript:
        """Script what chat/generate stream, for one model or (model=None) for all."""
        script = ChatScript(**kwargs)
        with self.lock:
            if model is None:
                self.script = script
            else:
                self.scripts[normalize_name(model)] = script
        return script

    def script_for(self, name: str) -> ChatScript:
        with self.lock:
            return self.scripts.get(normalize_name(name), self.script)

    def find(self, name: str) -> FakeModel | None:
        with self.lock:
            return self.models.get(normalize_name(name)) if name else None

    def set_running(self, name: str, *, size: int | None = None, size_vram: int | None = None,
                    context_length: int | None = None, expires_in: float | None = None) -> RunningEntry:
        """Put a model in /api/ps directly, with exact sizes (for the CPU/GPU split)."""
        model = self.find(name)
        if model is None:
            raise KeyError(name)
        entry = self.load_model(model, context_length, expires_in)
        with self.lock:
            if size is not None:
                entry.size = size
            if size_vram is not None:
                entry.size_vram = size_vram
        return entry

    def load_model(self, model: FakeModel, num_ctx: int | None, keep_alive: float | None) -> RunningEntry:
        """Load (or refresh) a model the way the scheduler does; returns its /api/ps entry."""
        ctx = num_ctx or self.default_context
        seconds = self.default_keep_alive if keep_alive is None else keep_alive
        now = datetime.now(UTC)
        expires = now + timedelta(days=365 * 292) if seconds < 0 else now + timedelta(seconds=seconds)
        size = model.size + model.kv_bytes_per_token() * ctx
        with self.lock:
            entry = RunningEntry(name=model.name, size=size, size_vram=round(size * model.vram_fraction),
                                 context_length=ctx, expires_at=expires, digest=model.digest)
            self.running[model.name] = entry
            return entry

    def unload(self, name: str) -> None:
        with self.lock:
            self.running.pop(normalize_name(name), None)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    def wait_until(self, ready: Callable[[], bool]) -> None:
        """Block until the test makes `ready()` true.

        A stopping server drops the connection instead, and so does one whose
        client hung up: Ollama cancels a request whose client has gone, so a
        held reply must not outlive its reader.
        """
        conn: socket.socket | None = getattr(self.local, "connection", None)
        while not ready():
            if self.stopping.wait(0.02) or (conn is not None and peer_closed(conn)):
                raise Dropped

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops so handler threads end promptly."""
        if seconds > 0 and self.stopping.wait(seconds):
            raise Dropped

    # ------------------------------------------------------------------ routes

    def route(self, method: str, path: str, body: Any, handler: Handler) -> Reply | Stream:
        if path in ("/", "") and method in ("GET", "HEAD"):
            return Reply(200, "Ollama is running", "text/plain; charset=utf-8")
        if path.startswith("/api/blobs/"):
            return self.blob(method, path.removeprefix("/api/blobs/"), handler)
        routes = {
            ("GET", "/api/version"): lambda: Reply(200, {"version": self.version}),
            ("GET", "/api/tags"): self.tags,
            ("GET", "/api/ps"): self.ps,
            ("POST", "/api/show"): lambda: self.show(body),
            ("POST", "/api/pull"): lambda: self.pull(body),
            ("DELETE", "/api/delete"): lambda: self.delete(body),
            ("POST", "/api/copy"): lambda: self.copy(body),
            ("POST", "/api/create"): lambda: self.create(body),
            ("POST", "/api/chat"): lambda: self.chat(body, "chat"),
            ("POST", "/api/generate"): lambda: self.chat(body, "generate"),
        }
        action = routes.get((method, path))
        if action is None:
            return Reply(404, "404 page not found", "text/plain")
        return action()

    def tags(self) -> Reply:
        with self.lock:
            models = sorted(self.models.values(), key=lambda m: m.modified_at, reverse=True)
            return Reply(200, {"models": [m.tags_entry() for m in models]})

    def ps(self) -> Reply:
        now = datetime.now(UTC)
        with self.lock:
            for name in [n for n, e in self.running.items() if e.expires_at <= now]:
                del self.running[name]
            entries = sorted(self.running.values(), key=lambda e: e.expires_at, reverse=True)
            out = []
            for e in entries:
                model = self.models.get(e.name)
                details = model.details() if model else {}
                out.append({
                    "name": e.name, "model": e.name, "size": e.size, "digest": e.digest,
                    "details": details, "expires_at": e.expires_at.isoformat().replace("+00:00", "Z"),
                    "size_vram": e.size_vram, "context_length": e.context_length,
                })
        return Reply(200, {"models": out})


    def show(self, body: Any) -> Reply:
        name = request_name(body, "model", "name")
        model = self.find(name)
        if model is None:
            raise HttpError(404, f"model '{name}' not found")
        return Reply(200, model.show())

    def delete(self, body: Any) -> Reply:
        name = request_name(body, "model", "name")
        with self.lock:
            if self.models.pop(normalize_name(name), None) is None:
                raise HttpError(404, f"model '{name}' not found")
        return Reply(200, None)

    def copy(self, body: Any) -> Reply:
        src, dst = request_name(body, "source"), request_name(body, "destination")
        if not dst:
            raise HttpError(400, f"destination {dst!r} is invalid".replace("'", '"'))
        model = self.find(src)
        if model is None:
            raise HttpError(404, f'model "{src}" not found')
        clone = copy.deepcopy(model)
        clone.name = normalize_name(dst)
        clone.modified_at = datetime.now(UTC)
        self.add_model(clone)
        return Reply(200, None)


    def chat(self, body: Any, kind: str) -> Reply | Stream:
        name = request_name(body, "model")
        if not name:
            raise HttpError(400, "model is required")
        model = self.find(name)
        if model is None:
            raise HttpError(404, f"model '{name}' not found")
        keep_alive = parse_keep_alive(body.get("keep_alive"))
        empty = not body.get("messages") if kind == "chat" else not body.get("prompt")
        if empty and keep_alive == 0:
            self.unload(model.name)
            return Reply(200, self._done_only(name, kind, "unload"))
        if "completion" not in model.capabilities:
            raise HttpError(400, f'"{name}" does not support {kind}')
        think = body.get("think")
        if "thinking" in model.capabilities:
            think = True if think is None else think
        elif think is True or isinstance(think, str):
            raise HttpError(400, f'"{name}" does not support thinking')
        was_loaded = model.name in self.running
        options = body.get("options") or {}
        self.load_model(model, options.get("num_ctx"), keep_alive)
        if empty:
            return Reply(200, self._done_only(name, kind, "load"))
        lines = chat_lines(self, model, name, kind, body, bool(think), was_loaded, keep_alive)
        return Stream(lines, stream=body.get("stream", True) is not False)

    @staticmethod
    def _done_only(name: str, kind: str, reason: str) -> dict[str, Any]:
        answer: dict[str, Any] = {"model": name, "created_at": datetime.now(UTC).isoformat().replace(
            "+00:00", "Z"), "done": True, "done_reason": reason}
        if kind == "chat":
            answer["message"] = {"role": "assistant", "content": ""}
        else:
            answer["response"] = ""
        return answer



@pytest.fixture
def fake_ollama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOllama]:
    """A running fake Ollama with the demo models; `.url` is its address."""
    fake = FakeOllama(blob_dir=tmp_path_factory.mktemp("fake-ollama-blobs"))
    for model in demo_models():
        fake.add_model(model)
    with fake:
        yield fake


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fake Ollama API for trying llamadeck by hand.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--models", type=int, default=0,
                        help="add this many synthetic models to the demo set")
    parser.add_argument("--chunks", type=int, default=0, help="stream this many chunks per chat reply")
    parser.add_argument("--chunk-delay", type=float, default=0.02, help="seconds between chat chunks")
    parser.add_argument("--pull-delay", type=float, default=0.2, help="seconds between pull progress lines")
    args = parser.parse_args(argv)
    fake = FakeOllama(host=args.host, port=args.port, pull_delay=args.pull_delay)
    for model in [*demo_models(), *synthetic_models(args.models)]:
        fake.add_model(model)
    if args.chunks:
        words = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog.", "\n\n"]
        fake.set_script(chunks=[words[i % len(words)] for i in range(args.chunks)], delay=args.chunk_delay)
    else:
        fake.script.delay = args.chunk_delay
    fake.start()
    print(f"fake Ollama serving {len(fake.models)} models at {fake.url} (Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

