"""The GGUF header reader on corrupt, truncated, hostile and awkward files."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import gguf
import pytest

from core.errors import ModelFactsError
from core.facts.gguf import facts_from_gguf
from core.facts.gguf_header import ArrayInfo, read_header
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _header(n_tensors: int, n_kv: int, version: int = 3) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv)


def _valid(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "ok.gguf", "llama", llama_kv(), llama_tensors())


def _with(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


CORRUPT = {
    "not gguf": (b"PK\x03\x04" + bytes(60), "is not a GGUF file"),
    "too small": (b"GGUF\x03\x00", "too small to be a GGUF file"),
    "version 1": (_header(0, 0, version=1) + bytes(16), "GGUF version 1 is not supported"),
    "absurd tensor count": (_header(1 << 60, 0) + bytes(64), "claims 1,152,921,504,606,846,976 tensors"),
    "absurd kv count": (_header(0, 1 << 40) + bytes(64), "metadata entries, more than the file can hold"),
    "absurd key length": (_header(0, 1) + struct.pack("<Q", 1 << 62) + bytes(32), "more than any real GGUF"),
    "absurd array length": (
        _header(0, 1) + _s("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 1 << 50) + bytes(32),
        "claims 1,125,899,906,842,624 items"),
    "absurd string array": (
        _header(0, 1) + _s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 1 << 40) + bytes(32),
        "strings, more than the file holds"),
    "absurd string value": (
        _header(0, 1) + _s("general.name") + struct.pack("<IQ", 8, 1 << 61) + bytes(32),
        "more than any real GGUF uses"),
    "unknown value type": (_header(0, 1) + _s("general.name") + struct.pack("<I", 77) + bytes(16),
                           "unknown value type 77"),
    "arrays nested too deep": (
        _header(0, 1) + _s("x") + struct.pack("<IIQ", 9, 9, 1) + struct.pack("<IQ", 9, 1) + bytes(16),
        "nests arrays deeper"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_headers_raise_a_sentence(tmp_path: Path, case: str) -> None:
    data, message = CORRUPT[case]
    path = _with(tmp_path / "bad.gguf", data)
    with pytest.raises(ModelFactsError, match=message) as err:
        facts_from_gguf(path)
    text = str(err.value)
    assert "bad.gguf" in text and text.rstrip().endswith(".")


def _tensor_entry(name: str, dims: tuple[int, ...], type_id: int, offset: int) -> bytes:
    return _s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + \
        struct.pack("<IQ", type_id, offset)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_tensor_entry("a.weight", (32, 2), 4, 0), "ggml type 4, unknown"),
        (_tensor_entry("a.weight", (32, 2, 1, 1, 1), 0, 0), "has 5 dimensions"),
        (_tensor_entry("a.weight", (33, 2), 8, 0), "not whole Q8_0 blocks"),
        (_tensor_entry("a.weight", (32, 2), 0, 7), "unaligned offset"),
        (_tensor_entry("x" * 80, (32,), 0, 0), "longer than llama.cpp allows"),
        (_tensor_entry("a.weight", (1 << 40, 1 << 30), 0, 0), "impossible shape"),
    ],
)
def test_bad_tensor_entries_raise_a_sentence(tmp_path: Path, entry: bytes, message: str) -> None:
    path = _with(tmp_path / "t.gguf", _header(1, 0) + entry + bytes(512))
    with pytest.raises(ModelFactsError, match=message):
        read_header(path)


def test_truncated_in_the_metadata(tmp_path: Path) -> None:
    valid = _valid(tmp_path)
    data = valid.read_bytes()
    path = _with(tmp_path / "cut.gguf", data[: read_header(valid).data_offset // 2])
    with pytest.raises(ModelFactsError, match="ends in the middle of its header"):
        facts_from_gguf(path)


def test_truncated_in_the_tensor_table(tmp_path: Path) -> None:
    valid = _valid(tmp_path)
    data = valid.read_bytes()
    path = _with(tmp_path / "cut.gguf", data[: read_header(valid).data_offset - 40])
    with pytest.raises(ModelFactsError, match=r"while reading (a tensor name|the tensor table)"):
        facts_from_gguf(path)


def test_truncated_in_the_tensor_data(tmp_path: Path) -> None:
    data = _valid(tmp_path).read_bytes()
    path = _with(tmp_path / "cut.gguf", data[:-1000])
    with pytest.raises(ModelFactsError, match="is truncated: its tensors need") as err:
        facts_from_gguf(path)
    assert f"{len(data):,}" in str(err.value)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFactsError, match="There is no file"):
        facts_from_gguf(tmp_path / "nope.gguf")
    (tmp_path / "dir.gguf").mkdir()
    with pytest.raises(ModelFactsError, match="is a folder"):
        facts_from_gguf(tmp_path / "dir.gguf")


def _awkward_tokens(seed: int, n: int) -> list[str]:
    """Short, empty, NUL-laden, CJK and one very long token, as real vocabularies have."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.random()
        if kind < 0.02:
            out.append("")
        elif kind < 0.04:
            out.append("\x00" * rng.randint(1, 12) + "x")
        elif kind < 0.10:
            out.append("".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(rng.randint(1, 4))))
        else:
            out.append("".join(chr(rng.randint(33, 126)) for _ in range(rng.randint(1, 16))))
        if i == n // 2:
            out.append("L" * 70_000)  # longer than the fast path's 16-bit lengths
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_long_vocabularies_are_skipped_exactly(tmp_path: Path, seed: int) -> None:
    tokens = _awkward_tokens(seed, 9000)
    merges = [f"{a} {b}" for a, b in zip(tokens[::2], tokens[1::2], strict=False)]
    kv = llama_kv(**{"tokenizer.ggml.tokens": tokens, "tokenizer.ggml.merges": merges,
                     "general.after_the_arrays": "still here"})
    path = write_gguf(tmp_path / "v.gguf", "llama", kv, llama_tensors())
    header = read_header(path)
    assert header.metadata["tokenizer.ggml.tokens"] == ArrayInfo("string", len(tokens))
    assert header.metadata["tokenizer.ggml.merges"] == ArrayInfo("string", len(merges))
    assert header.metadata["general.after_the_arrays"] == "still here"
    reference = gguf.GGUFReader(path)
    assert header.data_offset == reference.data_offset
    assert [t.name for t in header.tensors] == [t.name for t in reference.tensors]
    assert [t.n_bytes for t in header.tensors] == [int(t.n_bytes) for t in reference.tensors]


def test_a_vocabulary_larger_than_one_scan_window(tmp_path: Path) -> None:
    """Over 4 MiB of strings: the skip continues across windows without losing its place."""
    tokens = [f"tok{i:07d}" + "x" * (i % 9) for i in range(320_000)]
    kv = llama_kv(**{"tokenizer.ggml.tokens": tokens, "general.after_the_arrays": "still here"})
    path = write_gguf(tmp_path / "big.gguf", "llama", kv, llama_tensors())
    header = read_header(path)
    assert header.metadata["tokenizer.ggml.tokens"] == ArrayInfo("string", 320_000)
    assert header.metadata["general.after_the_arrays"] == "still here"
    assert [(t.name, t.shape) for t in header.tensors] == [(n, s) for n, s, _ in llama_tensors()]
