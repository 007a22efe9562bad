"""The fake Ollama's routes that move model bytes: /api/pull, /api/blobs, /api/create.

Pull progress is remembered per layer digest, so a pull the client abandons
resumes where it stopped, as Ollama's does. Uploaded blobs are hashed as they
arrive and kept on disk only when the sha256 matches the digest in the URL.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.fakes.fake_ollama_http import DIGEST_RE, HttpError, Reply, Stream, dumps, request_name
from tests.fakes.fake_ollama_models import FakeModel, LibraryModel, digest_of, model_from_gguf, normalize_name

if TYPE_CHECKING:
    from tests.fakes.fake_ollama_http import Handler


class TransferRoutes:
    """Mixed into FakeOllama, which holds the state these routes read and write."""

    blob_dir: Path
    library: dict[str, LibraryModel]
    blobs: dict[str, Path]
    downloaded: dict[str, int]
    pull_steps: int
    pull_delay: float
    pull_hold_at: int | None
    pull_release: threading.Event
    lock: threading.RLock

    def sleep(self, seconds: float) -> None: ...
    def wait_until(self, ready: Callable[[], bool]) -> None: ...
    def find(self, name: str) -> FakeModel | None: ...
    def add_model(self, model: FakeModel) -> FakeModel: ...

    def pull(self, body: Any) -> Stream:
        name = request_name(body, "model", "name")
        if not name:
            raise HttpError(400, "invalid model name")
        return Stream(self._pull_lines(normalize_name(name)), stream=body.get("stream", True) is not False)

    def _pull_lines(self, name: str) -> Iterator[dict[str, Any]]:
        yield {"status": "pulling manifest"}
        self.sleep(self.pull_delay)
        entry = self.library.get(name)
        if entry is None:
            raise HttpError(500, "pull model manifest: file does not exist")
        for digest, total in entry.layers:
            yield from self._download(digest, total)
        yield {"status": "verifying sha256 digest"}
        yield {"status": "writing manifest"}
        model = copy.deepcopy(entry.model)
        model.modified_at = datetime.now(UTC)
        self.add_model(model)
        yield {"status": "success"}

    def _download(self, digest: str, total: int) -> Iterator[dict[str, Any]]:
        status = f"pulling {digest[7:19]}"
        with self.lock:
            done = self.downloaded.get(digest, 0)
        if done >= total:
            yield {"status": status, "digest": digest, "total": total, "completed": total}
            return
        # Ollama omits `completed` while it is zero (omitempty): the first line of a fresh layer has none.
        yield {"status": status, "digest": digest, "total": total, **({"completed": done} if done else {})}
        step = max(1, -(-total // max(1, self.pull_steps)))
        while done < total:
            hold = self.pull_hold_at
            if hold is not None and done >= hold and not self.pull_release.is_set():
                # A pull that stays in progress until the test has done its part
                # (cancelled it, switched hosts): nothing races a delay.
                self.wait_until(self.pull_release.is_set)
            self.sleep(self.pull_delay)
            done = min(total, done + step)
            with self.lock:
                self.downloaded[digest] = done  # kept when the client goes away: a re-pull resumes
            yield {"status": status, "digest": digest, "total": total, "completed": done}

    def blob(self, method: str, digest: str, handler: Handler) -> Reply:
        match = DIGEST_RE.match(digest)
        if match is None:
            handler.drain_body()
            raise HttpError(400, "invalid digest format")
        key = f"sha256:{match.group(1)}"
        with self.lock:
            exists = key in self.blobs or key in self._pulled_complete()
        if method == "HEAD":
            if not exists:
                raise HttpError(404, f'blob "{digest}" not found')
            return Reply(200, None)
        if method != "POST":
            return Reply(404, "404 page not found", "text/plain")
        if exists:
            handler.drain_body()
            return Reply(200, None)
        sha = hashlib.sha256()
        part = self.blob_dir / f"upload-{threading.get_ident()}-{time.monotonic_ns()}.part"
        with part.open("wb") as out:
            for piece in handler.iter_body():
                sha.update(piece)
                out.write(piece)
        got = f"sha256:{sha.hexdigest()}"
        if got != key:
            part.unlink(missing_ok=True)
            raise HttpError(400, f'digest mismatch, expected "{digest}", got "{got}"')
        final = self.blob_dir / f"sha256-{match.group(1)}"
        part.replace(final)
        with self.lock:
            self.blobs[key] = final
        return Reply(201, None)

    def _pulled_complete(self) -> set[str]:
        sizes = {d: s for entry in self.library.values() for d, s in entry.layers}
        return {d for d, n in self.downloaded.items() if n >= sizes.get(d, 1 << 62)}

    def create(self, body: Any) -> Reply | Stream:
        name = request_name(body, "model", "name")
        if not name:
            raise HttpError(400, "invalid model name")
        if body.get("quantize"):
            raise HttpError(400, "the fake Ollama server does not quantize")
        files = body.get("files") or {}
        if not body.get("from") and not files:
            raise HttpError(400, "neither 'from' or 'files' was specified")
        if files and not any(f.endswith((".gguf", ".safetensors")) for f in files):
            with self.lock:
                if not all(d in self.blobs for d in files.values()):
                    raise HttpError(400, "unknown type")
        lines = self._create_lines(normalize_name(name), body)
        return Stream(lines, stream=body.get("stream", True) is not False)

    def _create_lines(self, name: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        files: dict[str, str] = body.get("files") or {}
        if body.get("from"):
            base = self.find(body["from"])
            if base is None:
                yield from self._pull_lines(normalize_name(body["from"]))
                base = self.find(body["from"])
            assert base is not None
            model = copy.deepcopy(base)
            model.name = name
            yield {"status": f"using existing layer sha256:{base.digest}"}
        else:
            if any(f.endswith(".safetensors") for f in files):
                raise HttpError(500, "the fake Ollama server does not convert safetensors")
            model = None
            for file_name in sorted(files):
                digest = files[file_name]
                yield {"status": "parsing GGUF"}
                with self.lock:
                    path = self.blobs.get(digest)
                if path is None:
                    hexpart = digest.removeprefix("sha256:")
                    raise HttpError(500, f"open {self.blob_dir}/sha256-{hexpart}: no such file or directory")
                with path.open("rb") as fh:
                    if fh.read(4) != b"GGUF":
                        raise HttpError(400, "supplied file was not in GGUF format")
                if model is None:
                    model = model_from_gguf(name, path, digest, path.stat().st_size)
                yield {"status": f"using existing layer {digest}"}
            assert model is not None
        for key in ("template", "system", "license"):
            value = body.get(key)
            if value:
                setattr(model, key, "\n".join(value) if isinstance(value, list) else value)
                yield {"status": f"creating new layer sha256:{digest_of(key + str(value))}"}
        if body.get("template"):
            template = body["template"]
            caps = [c for c in model.capabilities if c not in ("tools", "thinking", "insert")]
            from_vars = ((".Tools", "tools"), (".Thinking", "thinking"), (".Suffix", "insert"))
            caps += [cap for var, cap in from_vars if var in template]
            model.capabilities = caps
        if body.get("parameters"):
            model.parameters = {**model.parameters, **body["parameters"]}
            yield {"status": f"creating new layer sha256:{digest_of(dumps(body['parameters']))}"}
        yield {"status": "writing manifest"}
        model.modified_at = datetime.now(UTC)
        model.digest = digest_of(f"manifest {name} {json.dumps(body, sort_keys=True)}")
        self.add_model(model)
        yield {"status": "success"}
