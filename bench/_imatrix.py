"""A stand-in importance matrix, so llama-quantize makes the quants that need one.

llama-quantize refuses IQ1/IQ2/IQ3_XXS without `--imatrix`, and an imatrix
also changes a few of its per-tensor choices (`qs.has_imatrix` in
llama-quant.cpp). The planner sizes those quants the way they are made in
practice, with an imatrix, so the benchmark must give llama-quantize one too.
Only its presence matters for the types; its values only steer rounding, so
uniform importance (all ones) is enough. Written in the legacy binary layout
(`common_imatrix_load_legacy`): n_entries, then per entry the name, ncall,
nval and nval floats.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

from core.facts.types import TensorInfo


def imatrix_values(t: TensorInfo) -> int:
    """Values llama-quantize expects for `t`: one per column, per expert for stacked experts."""
    return t.shape[0] * (t.shape[2] if len(t.shape) > 2 else 1)


def write_imatrix(path: Path, tensors: Iterable[TensorInfo]) -> Path:
    """An imatrix covering every matrix in `tensors` (ggml order, shape[0] = row length)."""
    entries = [t for t in tensors if len(t.shape) >= 2]
    if not entries:
        raise ValueError("an imatrix needs at least one matrix")
    with path.open("wb") as fh:
        fh.write(struct.pack("<i", len(entries)))
        for t in entries:
            name = t.name.encode()
            n = imatrix_values(t)
            fh.write(struct.pack("<i", len(name)) + name + struct.pack("<ii", 1, n))
            fh.write(struct.pack(f"<{n}f", *([1.0] * n)))
        fh.write(struct.pack("<i", 1))  # chunks
        dataset = b"uniform"
        fh.write(struct.pack("<i", len(dataset)) + dataset)
    return path


def marker_imatrix(path: Path) -> Path:
    """A one-entry imatrix: enough for `--dry-run`, which only asks whether there is one.

    A full one for a 671B MoE would be over a gigabyte of floats.
    """
    with path.open("wb") as fh:
        name = b"blk.0.ffn_down.weight"
        fh.write(struct.pack("<i", 1) + struct.pack("<i", len(name)) + name + struct.pack("<iif", 1, 1, 1.0))
    return path
