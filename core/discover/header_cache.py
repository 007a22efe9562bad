"""Remote GGUF headers kept on disk, so a second look at a repo costs no network.

Keyed by (endpoint host, repo, commit sha, file path): a commit's file never
changes, and a mirror is kept apart from the Hub. What is kept is the parsed
header (metadata with the long arrays summarised, the tensor table), a few
hundred KiB as JSON where the raw header can be 10 MB. An entry that does
not read back whole and for the same key is ignored, removed and fetched
again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from core import paths
from core.facts.gguf_header import ArrayInfo, GGUFHeader
from core.facts.types import TensorInfo

FORMAT = 1
_ARRAY = "__array__"


def default_root() -> Path:
    return paths.cache_dir() / "discover" / "headers"


class HeaderCache:
    """Headers under `root` (default: the app cache dir's discover/headers)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_root()

    def _file(self, key: tuple[str, str, str, str]) -> Path:
        digest = hashlib.sha256("\0".join(key).encode()).hexdigest()
        return self.root / digest[:2] / f"{digest}.json"

    def get(self, key: tuple[str, str, str, str], size: int) -> GGUFHeader | None:
        """The kept header of a file of `size` bytes, None when there is none (or none that reads back)."""
        path = self._file(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            header = _decode(data, key)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            with contextlib.suppress(OSError):  # a broken entry: fetched again, and written over anyway
                path.unlink()
            return None
        return header if header.file_size == size or size <= 0 else None

    def put(self, key: tuple[str, str, str, str], header: GGUFHeader) -> None:
        """Keep `header`; a cache that cannot be written (a full or read-only disk) only costs a re-read."""
        path = self._file(key)
        part = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")  # one per writer
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            part.write_text(json.dumps(_encode(header, key)), encoding="utf-8")
            os.replace(part, path)
        except OSError:
            with contextlib.suppress(OSError):
                part.unlink()


def _value(v: Any) -> Any:
    if isinstance(v, ArrayInfo):
        return {_ARRAY: [v.item_type, v.length]}
    if isinstance(v, list):
        return [_value(x) for x in v]
    return v


def _unvalue(v: Any) -> Any:
    if isinstance(v, dict):
        item_type, length = v[_ARRAY]
        return ArrayInfo(str(item_type), int(length))
    if isinstance(v, list):
        return [_unvalue(x) for x in v]
    return v


def _encode(h: GGUFHeader, key: tuple[str, str, str, str]) -> dict[str, Any]:
    return {
        "format": FORMAT, "key": list(key), "path": str(h.path), "version": h.version,
        "metadata": {k: _value(v) for k, v in h.metadata.items()},
        "tensors": [[t.name, list(t.shape), t.ggml_type, t.n_bytes] for t in h.tensors],
        "offsets": list(h.tensor_offsets), "data_offset": h.data_offset, "file_size": h.file_size,
        "alignment": h.alignment,
    }


def _decode(d: dict[str, Any], key: tuple[str, str, str, str]) -> GGUFHeader:
    if d["format"] != FORMAT or tuple(d["key"]) != key:
        raise ValueError("another entry")
    tensors = tuple(TensorInfo(str(n), tuple(int(x) for x in shape), str(t), int(b))
                    for n, shape, t, b in d["tensors"])
    offsets = tuple(int(o) for o in d["offsets"])
    if len(offsets) != len(tensors):
        raise ValueError("a tensor table cut short")
    metadata = {str(k): _unvalue(v) for k, v in d["metadata"].items()}
    return GGUFHeader(Path(d["path"]), int(d["version"]), metadata, tensors, offsets,
                      int(d["data_offset"]), int(d["file_size"]), int(d["alignment"]))
