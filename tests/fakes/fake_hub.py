"""A small local stand-in for the Hugging Face Hub (no network here), for the download and Discover code.

It speaks the subset `huggingface_hub` and llamadeck use, so the real client
runs against it through HF_ENDPOINT (or an explicit endpoint):

- `GET /api/models?search=&filter=&author=&sort=&limit=&cursor=`: search, one
  page at a time with a `Link: <...>; rel="next"` header (tests.fakes.fake_hub_search).
- `GET /api/models/{repo}` and `/api/models/{repo}/revision/{rev}` (`?blobs=true`):
  id, commit sha, gated, downloads, likes, lastModified, tags, and siblings with
  size, blobId and, for LFS files, `lfs: {sha256, size, pointerSize}`.
- `HEAD|GET /{repo}/resolve/{rev}/{path}`: `X-Repo-Commit`, `ETag` (the sha256
  for LFS files, as the Hub's X-Linked-Etag), `Content-Length`, and real `Range`
  semantics: `bytes=a-b`, `bytes=a-`, `bytes=-n` answer 206 with
  `Content-Range`, a start past the end 416. Bodies are read from the file
  with seek, so a hollow GGUF (a sparse file that declares 40 GB) answers
  ranged reads of its header without its body ever being built.
- Errors the way the client maps them: `X-Error-Code: RepoNotFound`,
  `EntryNotFound`, `RevisionNotFound` (404) and `GatedRepo` (401 without the token).

Knobs: `chunk_delay` slows every 64 KiB (to cancel mid-download),
`drop_after` cuts one response after that many bytes, `corrupt` serves wrong
bytes for the named paths, `latency` waits before every answer (benchmarks:
requests are then worth their round trip), `ignore_range` answers ranged GETs
with 200 and the whole file (a mirror without range reads), `fail` answers
requests whose path ends with a key with that status, and `cdn` redirects
file reads to another host name (`localhost` for `127.0.0.1`), as the Hub
redirects to its CDN, so a test can see which headers cross. `requests` logs
every request, `bytes_sent` counts body bytes. ModelScope's file API is
served for the same repos (tests.fakes.fake_modelscope).
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
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tests.fakes import fake_modelscope
from tests.fakes.fake_hub_search import SearchError, search

LFS_SUFFIXES = (".safetensors", ".bin", ".gguf", ".model")
CHUNK = 64 << 10
HASHED_MAX = 256 << 20  # bigger files (hollow GGUFs) get a stand-in sha256: hashing 40 GB of holes is no test


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, Path]  # path in the repo -> local file with its content
    sha: str = "1234567890abcdef1234567890abcdef12345678"
    gated: str | bool = False
    downloads: int = 0
    likes: int = 0
    last_modified: str = "2025-01-01T00:00:00.000Z"
    trending: int = 0
    tags: tuple[str, ...] = ()
    gguf: dict[str, Any] | None = None  # the Hub's `gguf` summary: total (params), architecture, ...

    def sibling(self, path: str) -> dict[str, Any]:
        local = self.files[path]
        size = local.stat().st_size
        entry: dict[str, Any] = {"rfilename": path, "size": size, "blobId": _digest(local, "blob")}
        if path.endswith(LFS_SUFFIXES):
            entry["lfs"] = {"sha256": _digest(local, "sha256"), "size": size, "pointerSize": 134}
        return entry

    def all_tags(self) -> list[str]:
        gguf = ["gguf"] if any(p.endswith(".gguf") for p in self.files) else []
        return [*gguf, *self.tags]

    def summary(self) -> dict[str, Any]:
        """What search and model info return for the repo, without its files."""
        return {"_id": self.sha[:24], "id": self.repo_id, "modelId": self.repo_id,
                "author": self.repo_id.split("/")[0], "sha": self.sha, "private": False,
                "gated": self.gated, "disabled": False, "downloads": self.downloads, "likes": self.likes,
                "trendingScore": self.trending, "lastModified": self.last_modified,
                "createdAt": self.last_modified, "tags": self.all_tags(),
                **({"gguf": self.gguf} if self.gguf is not None else {})}


def header(headers: dict[str, str], name: str) -> str:
    """A recorded header by name, whatever case the client sent it in."""
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


_DIGESTS: dict[tuple[str, str, int, int], str] = {}


def _digest(path: Path, kind: str) -> str:
    st = path.stat()
    key = (str(path), kind, st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        if st.st_size > HASHED_MAX:
            _DIGESTS[key] = hashlib.sha256(f"{kind}:{path}:{st.st_size}".encode()).hexdigest()
        else:
            _DIGESTS[key] = sha256_of(path) if kind == "sha256" else git_blob_sha(path)
    return _DIGESTS[key]


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
    latency: float = 0.0  # seconds before every answer
    ignore_range: bool = False
    fail: dict[str, int] = field(default_factory=dict)  # path suffix -> status to answer with
    cdn: bool = False
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)  # each request's query string, beside `requests`
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

    def file_reads(self, path: str = "") -> list[tuple[str, dict[str, str]]]:
        """(path, headers) of every GET of a file body (not the API), optionally of one file."""
        return [(p, h) for m, p, h in self.requests
                if m == "GET" and ("/resolve/" in p or p.startswith("/cdn/")) and p.endswith(path)]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.queries.clear()
            self.bytes_sent = 0


_SEARCH = "/api/models"
_API = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
_RESOLVE = re.compile(r"^/(?:cdn/)?(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_RANGE = re.compile(r"^bytes=(?P<start>\d*)-(?P<end>\d*)$")


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
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        with self.hub.lock:
            self.hub.requests.append((method, path, dict(self.headers.items())))
            self.hub.queries.append(parts.query)
        if self.hub.latency:
            time.sleep(self.hub.latency)
        status = next((s for suffix, s in self.hub.fail.items() if path.endswith(suffix)), None)
        if status is not None:
            self.error(status, "", f"the stand-in was told to answer {status}")
        elif path.startswith(fake_modelscope.PREFIX):
            fake_modelscope.route(self, method, path, parse_qs(parts.query))
        elif path == _SEARCH and method == "GET":
            self.search(parse_qs(parts.query))
        elif (m := _API.match(path)) is not None and method == "GET":
            self.model_info(m["repo"], m["rev"])
        elif (m := _RESOLVE.match(path)) is not None:
            self.resolve(method, m["repo"], m["rev"], m["path"], cdn=path.startswith("/cdn/"))
        else:
            self.error(404, "RepoNotFound", "not found")

    def error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_json_headers(len(body))
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json_headers(self, length: int) -> None:
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def search(self, query: dict[str, list[str]]) -> None:
        try:
            page, next_url = search(self.hub.repos.values(), query, self.hub.url)
        except (SearchError, ValueError) as exc:
            self.error(400, "", str(exc))
            return
        body = json.dumps(page).encode()
        self.send_response(200)
        if next_url is not None:
            self.send_header("Link", f'<{next_url}>; rel="next"')
        self.send_json_headers(len(body))
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
        body = json.dumps({**repo.summary(),
                           "siblings": [repo.sibling(p) for p in sorted(repo.files)]}).encode()
        self.send_response(200)
        self.send_json_headers(len(body))
        self.wfile.write(body)

    def resolve(self, method: str, repo_id: str, rev: str, path: str, *, cdn: bool) -> None:
        repo = self.repo(repo_id, rev)
        if repo is None:
            return
        if not cdn and not self.authorised(repo):
            self.error(401, "GatedRepo", "Access to this gated repo is restricted")
            return
        local = repo.files.get(path)
        if local is None:
            self.error(404, "EntryNotFound", f"{path} does not exist")
            return
        if self.hub.cdn and not cdn:
            port = self.server.server_address[1]
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/cdn/{repo_id}/resolve/{rev}/{quote(path)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_file(method, repo, path, local)

    def send_file(self, method: str, repo: HubRepo, path: str, local: Path) -> None:
        size = local.stat().st_size
        sibling = repo.sibling(path)
        etag = sibling["lfs"]["sha256"] if "lfs" in sibling else sibling["blobId"]
        wanted = None if self.hub.ignore_range or method != "GET" else _range(self.headers.get("Range"), size)
        if wanted == (-1, -1):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = wanted or (0, size - 1)
        self.send_response(206 if wanted else 200)
        self.send_header("X-Repo-Commit", repo.sha)
        self.send_header("ETag", f'"{etag}"')
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end + 1 - start))
        if wanted:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if method == "GET":
            self.send_body(_pieces(local, start, end + 1, corrupt=path in self.hub.corrupt))

    def send_body(self, pieces: Iterator[bytes]) -> None:
        hub = self.hub
        with hub.lock:
            cut, hub.drop_after = hub.drop_after, None
        sent = 0
        for piece in pieces:
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
            except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: its right
                self.close_connection = True
                return
            sent += len(piece)
            with hub.lock:
                hub.bytes_sent += len(piece)


def _range(value: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `Range`, None to send the whole file, (-1, -1) for 416."""
    m = _RANGE.match(value or "")
    if m is None or (not m["start"] and not m["end"]):
        return None
    if not m["start"]:  # bytes=-n: the last n bytes
        n = int(m["end"])
        return (max(0, size - n), size - 1) if n and size else (-1, -1)
    start = int(m["start"])
    end = min(int(m["end"]), size - 1) if m["end"] else size - 1
    if start >= size or end < start:
        return -1, -1
    return start, end


def _pieces(local: Path, start: int, stop: int, *, corrupt: bool) -> Iterator[bytes]:
    with local.open("rb") as fh:
        fh.seek(start)
        pos = start
        while pos < stop:
            piece = fh.read(min(CHUNK, stop - pos))
            if not piece:
                return
            if corrupt and pos < 16:
                head = bytes(b ^ 0xFF for b in piece[: 16 - pos])
                piece = head + piece[16 - pos:]
            pos += len(piece)
            yield piece
