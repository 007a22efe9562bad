"""A careful reader for the GGUF header: metadata and tensor table, never the weights.

Why not `gguf.GGUFReader`: it parses every array eagerly into numpy objects,
which costs seconds on a 150k-token vocabulary and trusts the counts in the
file. This reader memory-maps the file, checks every count and length against
the bytes that are really there before it allocates anything, keeps small
values, and steps over the long arrays (vocabulary, merges, scores) without
building them. A hostile or truncated header ends in a ModelFactsError with a
sentence, not in a MemoryError or a hang.

Layout (GGUF v2/v3, little-endian): magic, version u32, tensor_count u64,
kv_count u64, then kv_count (key, type, value), then tensor_count
(name, n_dims, dims[n_dims], type u32, offset u64), padding to
`general.alignment` (default 32), then the data.
"""

from __future__ import annotations

import bisect
import mmap
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelFactsError
from core.facts.ggml_types import GGML_TYPES_BY_ID
from core.facts.types import TensorInfo

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
GGML_MAX_DIMS = 4
GGML_MAX_NAME = 64  # llama.cpp rejects longer tensor names

# Arrays up to this length are kept (per-layer head counts, SWA patterns);
# longer ones are summarised as ArrayInfo.
KEEP_ARRAY_MAX = 4096
MAX_KEY_BYTES = 65536
MAX_STRING_BYTES = 64 << 20  # a chat template is KiB; nothing real comes near this
MAX_STRING_ITEMS = 1 << 22  # real merges reach ~450k (gpt-oss); millions of hostile empty strings: seconds
MAX_NESTING = 2

_U8, _I8, _U16, _I16, _U32, _I32, _F32, _BOOL, _STR, _ARR, _U64, _I64, _F64 = range(13)
_SCALARS: dict[int, struct.Struct] = {
    _U8: struct.Struct("<B"), _I8: struct.Struct("<b"), _U16: struct.Struct("<H"),
    _I16: struct.Struct("<h"), _U32: struct.Struct("<I"), _I32: struct.Struct("<i"),
    _F32: struct.Struct("<f"), _BOOL: struct.Struct("<?"), _U64: struct.Struct("<Q"),
    _I64: struct.Struct("<q"), _F64: struct.Struct("<d"),
}
_TYPE_NAMES = {
    _U8: "uint8", _I8: "int8", _U16: "uint16", _I16: "int16", _U32: "uint32", _I32: "int32",
    _F32: "float32", _BOOL: "bool", _STR: "string", _ARR: "array", _U64: "uint64",
    _I64: "int64", _F64: "float64",
}
_U32S = struct.Struct("<I")
_U64S = struct.Struct("<Q")


@dataclass(frozen=True)
class ArrayInfo:
    """A metadata array too long to keep (vocabulary, merges, scores): only its type and length."""

    item_type: str
    length: int


@dataclass(frozen=True)
class GGUFHeader:
    path: Path
    version: int
    metadata: Mapping[str, Any]
    tensors: tuple[TensorInfo, ...]
    tensor_offsets: tuple[int, ...]  # relative to data_offset, one per tensor
    data_offset: int
    file_size: int
    alignment: int


class HeaderIncomplete(ModelFactsError):
    """`parse_header` was given fewer bytes than the header takes: read at least `needed` and parse again.

    A file that really ends there gets the truncation sentence instead.
    """

    def __init__(self, name: str, needed: int) -> None:
        super().__init__(f"The first bytes of {name} do not hold its whole header ({needed:,} at least).")
        self.needed = needed


class _Cursor:
    """Bounds-checked reads over the mapped file (or its first `size` bytes); every failure names the file."""

    def __init__(self, buf: mmap.mmap | bytes, size: int, path: Path, file_size: int | None = None) -> None:
        self.buf = buf
        self.size = size  # the bytes there are to read
        self.file_size = size if file_size is None else file_size  # the bytes the file has
        self.pos = 0
        self.path = path

    def fail(self, what: str) -> ModelFactsError:
        return ModelFactsError(
            f"{self.path.name} is not a valid GGUF file: {what} (at byte {self.pos:,}).",
            hint="The file may be truncated or corrupt; download or convert it again.",
        )

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.file_size:
            raise _truncated(self, what)
        if self.pos + n > self.size:
            raise HeaderIncomplete(self.path.name, self.pos + n)

    def short(self, what: str, needed: int) -> ModelFactsError:
        """Out of bytes at `pos`: more to read (a prefix of a longer file), or truly truncated."""
        if self.size < self.file_size:
            return HeaderIncomplete(self.path.name, min(needed, self.file_size))
        return _truncated(self, what)

    def left(self) -> int:  # bytes of the file after `pos`: what every count is checked against
        return self.file_size - self.pos

    def scalar(self, vtype: int, what: str) -> Any:
        st = _SCALARS[vtype]
        self.need(st.size, what)
        (v,) = st.unpack_from(self.buf, self.pos)
        self.pos += st.size
        return v

    def u32(self, what: str) -> int:
        return int(self.scalar(_U32, what))

    def u64(self, what: str) -> int:
        return int(self.scalar(_U64, what))

    def string(self, what: str, limit: int = MAX_STRING_BYTES) -> str:
        n = self.u64(f"the length of {what}")
        if n > limit:
            raise self.fail(f"{what} claims {n:,} bytes, more than any real GGUF uses")
        self.need(n, what)
        raw = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return raw.decode("utf-8", errors="replace")

def _skip_strings(cur: _Cursor, count: int, what: str) -> None:
    """Step over `count` length-prefixed strings without decoding them.

    A Python loop costs ~0.2 us a string, too slow for a 400k-entry vocabulary
    plus merges. Instead, numpy marks every offset whose bytes look like the
    start of a short string (a 64-bit length below 65536, then a non-zero
    first byte), each mark is linked to the offset its length points at, and
    the walk follows those links; where a string ends exactly at the next
    mark, a whole run is taken in one step. Every followed link is an exact
    length read, so the result is exact; where the fast path cannot continue
    (a string of 64 KiB or more, a string starting with NUL, the end of the
    window) one string is read the slow way and the fast path resumes.
    """
    remaining = count
    while remaining > 0:
        if remaining < 2048:
            for _ in range(remaining):
                n = cur.u64(f"a string length in {what}")
                cur.need(n, f"a string in {what}")
                cur.pos += n
            return
        window = min(cur.size - cur.pos, max(remaining * 12, 1 << 16), _WINDOW)
        done, end = _walk_window(cur.buf, cur.pos, window, remaining)
        if done == 0:
            n = cur.u64(f"a string length in {what}")
            cur.need(n, f"a string in {what}")
            cur.pos += n
            remaining -= 1
            continue
        cur.need(end - cur.pos, f"the strings of {what}")
        cur.pos = end
        remaining -= done


# Small enough that numpy's passes over a window stay in the CPU cache.
_WINDOW = 256 << 10


def _walk_window(buf: mmap.mmap | bytes, start: int, window: int, count: int) -> tuple[int, int]:
    """Follow up to `count` strings from `start` inside `window` bytes; (strings done, end)."""
    if window < 16:
        return 0, start
    a = np.frombuffer(buf, dtype=np.uint8, count=window, offset=start)
    n = window - 8
    # A mark: length bytes 6 and 7 zero, first content byte not zero. Cheap and
    # loose; `exact` below checks bytes 2..5 for the marks the walk relies on.
    ok = a[8:8 + n] != 0
    ok &= a[7:7 + n] == 0
    ok &= a[6:6 + n] == 0
    cand = np.flatnonzero(ok)
    exact = (a[cand + 2] | a[cand + 3] | a[cand + 4] | a[cand + 5]) == 0
    nxt = cand + 8 + (a[cand].astype(np.int64) | (a[cand + 1].astype(np.int64) << 8))
    del a, ok  # release the mapped buffer before the caller unmaps it
    if cand.size == 0 or cand[0] != 0:
        return 0, start
    regular = np.zeros(cand.size, dtype=bool)
    regular[:-1] = (nxt[:-1] == cand[1:]) & exact[:-1]
    irregular = np.flatnonzero(~regular).tolist()  # never empty: the last mark is irregular
    i = 0
    done = 0
    while True:
        k = irregular[bisect.bisect_left(irregular, i)]
        # marks i..k-1 are exact strings, each ending where the next begins
        if not exact[k]:
            if done + (k - i) >= count:
                return count, start + int(nxt[i + (count - done - 1)])
            return done + (k - i), start + int(cand[k])
        if done + (k - i) + 1 >= count:
            return count, start + int(nxt[i + (count - done - 1)])
        done += k - i + 1
        target = nxt[k]
        j = int(np.searchsorted(cand, target))
        if j >= cand.size or cand[j] != target:
            return done, start + int(target)
        i = j


def _read_value(cur: _Cursor, vtype: int, key: str, depth: int = 0) -> Any:
    if vtype in _SCALARS:
        return cur.scalar(vtype, f"the value of {key}")
    if vtype == _STR:
        return cur.string(f"the value of {key}")
    if vtype != _ARR:
        raise cur.fail(f"key {key!r} has unknown value type {vtype}")
    if depth >= MAX_NESTING:
        raise cur.fail(f"key {key!r} nests arrays deeper than GGUF files do")
    item = cur.u32(f"the item type of {key}")
    count = cur.u64(f"the length of {key}")
    remaining = cur.left()
    if item in _SCALARS:
        width = _SCALARS[item].size
        if count * width > remaining:
            raise cur.fail(f"array {key!r} claims {count:,} items, more than the file holds")
        if count > KEEP_ARRAY_MAX:
            cur.pos += count * width
            return ArrayInfo(_TYPE_NAMES[item], count)
        cur.need(count * width, f"the items of {key}")
        fmt = "<" + _SCALARS[item].format[1:] * count
        values = list(struct.unpack_from(fmt, cur.buf, cur.pos))
        cur.pos += count * width
        return values
    if item == _STR:
        if count * 8 > remaining or count > MAX_STRING_ITEMS:
            more = "the file holds" if count * 8 > remaining else "any real GGUF has"
            raise cur.fail(f"array {key!r} claims {count:,} strings, more than {more}")
        if count > KEEP_ARRAY_MAX:
            _skip_strings(cur, count, key)
            return ArrayInfo("string", count)
        return [cur.string(f"an item of {key}") for _ in range(count)]
    if item == _ARR:
        if count * 12 > remaining:
            raise cur.fail(f"array {key!r} claims {count:,} arrays, more than the file holds")
        out = [_read_value(cur, _ARR, key, depth + 1) for _ in range(count)]
        return ArrayInfo("array", count) if count > KEEP_ARRAY_MAX else out
    raise cur.fail(f"array {key!r} has unknown item type {item}")


_DIMS = {n: struct.Struct(f"<{n}Q") for n in range(1, GGML_MAX_DIMS + 1)}
_TYPE_OFFSET = struct.Struct("<IQ")


def _read_tensor_table(cur: _Cursor, n_tensors: int, alignment: int) -> tuple[list[TensorInfo], list[int]]:
    """The tensor infos, read with few struct calls each: a 1000-tensor table costs ~2 ms."""
    buf, size, pos = cur.buf, cur.size, cur.pos
    u64, u32 = _U64S.unpack_from, _U32S.unpack_from
    tensors: list[TensorInfo] = []
    offsets: list[int] = []
    try:
        for _ in range(n_tensors):
            cur.pos = pos
            (n,) = u64(buf, pos)
            if n >= GGML_MAX_NAME:
                shown = bytes(buf[pos + 8:pos + 8 + min(n, 80)]).decode("utf-8", "replace")
                raise cur.fail(f"tensor name {shown!r} is longer than llama.cpp allows")
            if pos + 8 + n > size:
                raise cur.short("a tensor name", pos + 8 + n)
            name = bytes(buf[pos + 8:pos + 8 + n]).decode("utf-8", errors="replace")
            pos += 8 + n
            (n_dims,) = u32(buf, pos)
            if not 1 <= n_dims <= GGML_MAX_DIMS:
                raise cur.fail(f"tensor {name!r} has {n_dims} dimensions")
            shape = _DIMS[n_dims].unpack_from(buf, pos + 4)
            pos += 4 + 8 * n_dims
            type_id, offset = _TYPE_OFFSET.unpack_from(buf, pos)
            pos += 12
            gtype = GGML_TYPES_BY_ID.get(type_id)
            if gtype is None:
                raise cur.fail(f"tensor {name!r} has ggml type {type_id}, unknown to this llama.cpp version")
            n_el = 1
            for d in shape:
                n_el *= d
            if n_el >= 1 << 62:
                raise cur.fail(f"tensor {name!r} claims an impossible shape {shape}")
            if shape[0] % gtype.block_size:
                raise cur.fail(f"tensor {name!r} has rows of {shape[0]} values, "
                               f"not whole {gtype.name} blocks")
            if offset % alignment:
                raise cur.fail(f"tensor {name!r} starts at an unaligned offset {offset}")
            tensors.append(TensorInfo(name, shape, gtype.name, gtype.row_bytes(n_el)))
            offsets.append(offset)
    except struct.error:
        longest = 8 + GGML_MAX_NAME + 4 + 8 * GGML_MAX_DIMS + 12  # name, dimensions, type, offset
        raise cur.short("the tensor table", cur.pos + longest) from None
    cur.pos = pos
    return tensors, offsets


def _truncated(cur: _Cursor, what: str) -> ModelFactsError:
    return ModelFactsError(
        f"{cur.path.name} ends in the middle of its header while reading {what}: "
        f"it is truncated or not a GGUF file ({cur.file_size:,} bytes).",
        hint="Download or convert it again.",
    )


def _parse(cur: _Cursor) -> GGUFHeader:
    cur.need(4, "the magic number")
    magic = bytes(cur.buf[0:4])
    if magic != GGUF_MAGIC:
        raise ModelFactsError(
            f"{cur.path.name} is not a GGUF file (it starts with {magic!r}, not b'GGUF').",
            hint="Pick a .gguf file, a Hugging Face checkpoint folder, or a model name.",
        )
    cur.pos = 4
    version = cur.u32("the version")
    if version not in (2, 3):
        raise cur.fail(f"GGUF version {version} is not supported (only 2 and 3 are)")
    n_tensors = cur.u64("the tensor count")
    n_kv = cur.u64("the metadata count")
    # The smallest possible entries bound the counts by the bytes that exist.
    if n_kv * 13 > cur.left():
        raise cur.fail(f"the header claims {n_kv:,} metadata entries, more than the file can hold")
    if n_tensors * 29 > cur.left():
        raise cur.fail(f"the header claims {n_tensors:,} tensors, more than the file can hold")

    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string("a metadata key", MAX_KEY_BYTES)
        vtype = cur.u32(f"the type of {key}")
        metadata[key] = _read_value(cur, vtype, key)

    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise cur.fail(f"general.alignment is {alignment!r}, not a power of two")

    tensors, offsets = _read_tensor_table(cur, n_tensors, alignment)
    data_offset = -(-cur.pos // alignment) * alignment
    data_end = max((o + t.n_bytes for o, t in zip(offsets, tensors, strict=True)), default=0)
    if data_offset + data_end > cur.file_size:
        raise ModelFactsError(
            f"{cur.path.name} is truncated: its tensors need {data_offset + data_end:,} bytes "
            f"but the file has {cur.file_size:,}.",
            hint="The download or conversion stopped early; fetch or convert it again.",
        )
    return GGUFHeader(cur.path, version, metadata, tuple(tensors), tuple(offsets),
                      data_offset, cur.file_size, alignment)


def parse_header(data: bytes, file_size: int, path: Path) -> GGUFHeader:
    """The header of a file of `file_size` bytes from its first `len(data)` bytes (a remote file's ranges).

    Counts and lengths are checked against `file_size`, as for a file on
    disk, so a hostile header fails the same way; when `data` ends before the
    header does, HeaderIncomplete says how many bytes to read at least.
    """
    if file_size < 24:
        raise ModelFactsError(
            f"{path.name} is too small to be a GGUF file ({file_size} bytes).",
            hint="The upload stopped early, or the file is not a model.",
        )
    return _parse(_Cursor(data, min(len(data), file_size), path, file_size))


def read_header(path: Path) -> GGUFHeader:
    """Metadata and tensor table of one GGUF file (one part, for split models)."""
    try:
        with path.open("rb") as fh:
            size = path.stat().st_size
            if size < 24:
                raise ModelFactsError(
                    f"{path.name} is too small to be a GGUF file ({size} bytes).",
                    hint="The download or conversion stopped early; fetch or convert it again.",
                )
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return _parse(_Cursor(mm, size, path))
    except FileNotFoundError:
        raise ModelFactsError(f"There is no file at {path}.") from None
    except IsADirectoryError:
        raise ModelFactsError(f"{path} is a folder, not a GGUF file.") from None
    except PermissionError:
        raise ModelFactsError(f"{path} cannot be read: permission denied.") from None
    except OSError as exc:
        raise ModelFactsError(f"{path} cannot be read: {exc.strerror or exc}.") from None
