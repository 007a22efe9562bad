"""A small local stand-in for the Hugging Face Hub, for the download code (no network here).

It speaks the subset `huggingface_hub` uses to list and fetch a model repo,
so the real client runs against it through HF_ENDPOINT:

- `GET /api/models/{repo}` and `/api/models/{repo}/revision/{rev}` (`?blobs=true`):
  id, commit sha, gated, and siblings with size, blobId and, for LFS files,
  `lfs: {sha256, size, pointerSize}`.
- `HEAD|GET /{repo}/resolve/{rev}/{path}`: `X-Repo-Commit`, `ETag` (the sha256
  for LFS files, as the Hub's X-Linked-Etag), `Content-Length`, and ranged GETs
  (`Range: bytes=N-` -> 206) so interrupted downloads resume.
- Errors the way the client maps them: `X-Error-Code: RepoNotFound`,
  `EntryNotFound`, `RevisionNotFound` (404) and `GatedRepo` (401 without the token).

Knobs for faults: `chunk_delay` slows every 64 KiB (to cancel mid-download),
`drop_after` cuts one response after that many bytes, `corrupt` serves wrong
bytes for the named paths (sizes stay right, the sha256 does not).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".model")
CHUNK = 64 << 10


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, Path]  # path in the repo -> local file with its content
    sha: str = "1234567890abcdef1234567890abcdef12345678"
    gated: str | bool = False

    def sibling(self, path: str) -> dict[str, Any]:
        local = self.files[path]
        size = local.stat().st_size
        entry: dict[str, Any] = {"rfilename": path, "size": size, "blobId": git_blob_sha(local)}
        if path.endswith(LFS_SUFFIXES):
            entry["lfs"] = {"sha256": sha256_of(local), "size": size, "pointerSize": 134}
        return entry


def header(headers: dict[str, str], name: str) -> str:
    """A recorded header by name, whatever case the client sent it in."""
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_blob_sha(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def repo_from_folder(repo_id: str, folder: Path, **kwargs: Any) -> HubRepo:
    return HubRepo(repo_id, {p.name: p for p in sorted(folder.iterdir()) if p.is_file()}, **kwargs)


@dataclass
class FakeHub:
    repos: dict[str, HubRepo] = field(default_factory=dict)
    token: str = "hf_test_token"
    chunk_delay: float = 0.0
    drop_after: int | None = None  # bytes; applies once, to the next file body
    corrupt: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    bytes_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, repo: HubRepo) -> HubRepo:
        self.repos[repo.repo_id] = repo
        return repo

    def __enter__(self) -> FakeHub:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.hub = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def ranges(self, path: str) -> list[str]:
        """The Range headers of the GETs for one file, in order (resume evidence)."""
        return [header(h, "Range") for m, p, h in self.requests if m == "GET" and p.endswith("/" + path)]


_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_RANGE = re.compile(r"^bytes=(?P<start>\d+)-(?P<end>\d*)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def hub(self) -> FakeHub:
        return self.server.hub  # type: ignore[attr-defined, no-any-return]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_HEAD(self) -> None:
        self.dispatch("HEAD")

    def dispatch(self, method: str) -> None:
        path = unquote(urlsplit(self.path).path)
        with self.hub.lock:
            self.hub.requests.append((method, path, dict(self.headers.items())))
        m = _API.match(path)
        if m is not None and method == "GET":
            self.model_info(m["repo"], m["rev"])
            return
        m = _RESOLVE.match(path)
        if m is not None:
            self.resolve(method, m["repo"], m["rev"], m["path"])
            return
        self.error(404, "RepoNotFound", "not found")

    def error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def repo(self, repo_id: str, rev: str | None) -> HubRepo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self.error(404, "RepoNotFound", "Repository not found")
            return None
        if rev not in (None, "main", repo.sha):
            self.error(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return None
        return repo

    def authorised(self, repo: HubRepo) -> bool:
        return not repo.gated or self.headers.get("Authorization") == f"Bearer {self.hub.token}"

    def model_info(self, repo_id: str, rev: str | None) -> None:
        repo = self.repo(repo_id, rev)
        if repo is None:
            return
        body = json.dumps({
            "id": repo.repo_id, "modelId": repo.repo_id, "sha": repo.sha, "private": False,
            "gated": repo.gated, "disabled": False, "tags": [], "downloads": 0, "likes": 0,
            "siblings": [repo.sibling(p) for p in sorted(repo.files)],
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def resolve(self, method: str, repo_id: str, rev: str, path: str) -> None:
        repo = self.repo(repo_id, rev)
        if repo is None:
            return
        if not self.authorised(repo):
            self.error(401, "GatedRepo", "Access to this gated repo is restricted")
            return
        local = repo.files.get(path)
        if local is None:
            self.error(404, "EntryNotFound", f"{path} does not exist")
            return
        data = local.read_bytes()
        if path in self.hub.corrupt:
            data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
        sibling = repo.sibling(path)
        etag = sibling["lfs"]["sha256"] if "lfs" in sibling else sibling["blobId"]
        start = 0
        m = _RANGE.match(self.headers.get("Range", ""))
        if m is not None and method == "GET":
            start = min(int(m["start"]), len(data))
        self.send_response(206 if start else 200)
        self.send_header("X-Repo-Commit", repo.sha)
        self.send_header("ETag", f'"{etag}"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if method == "HEAD":
            return
        self.send_body(data[start:])

    def send_body(self, data: bytes) -> None:
        hub = self.hub
        with hub.lock:
            cut, hub.drop_after = hub.drop_after, None
        sent = 0
        for piece in _chunks(data):
            if cut is not None and sent + len(piece) > cut:
                self.wfile.write(piece[: max(0, cut - sent)])
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()
                return
            if hub.chunk_delay:
                time.sleep(hub.chunk_delay)
            try:
                self.wfile.write(piece)
            except (BrokenPipeError, ConnectionResetError):
                return
            sent += len(piece)
            with hub.lock:
                hub.bytes_sent += len(piece)


def _chunks(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), CHUNK):
        yield data[i:i + CHUNK]
