"""The ggml tensor types and llama.cpp file types, as numbers appear in a GGUF file.

A GGUF stores a tensor's type as a small integer and the whole file's "mix"
(general.file_type) as another; these tables turn both into the names users
know and give each tensor type its block layout, so a tensor's size in bytes
follows from its shape alone. The values are ggml's (ggml.h, llama.h) for the
pinned llama.cpp; ids that ggml retired are absent on purpose, so a file that
uses one is reported instead of mis-sized.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GgmlType:
    id: int
    name: str
    block_size: int  # elements per block
    type_size: int  # bytes per block

    def row_bytes(self, n_elements: int) -> int:
        """Bytes of `n_elements` values; the count must be a whole number of blocks."""
        return n_elements // self.block_size * self.type_size


_TYPES = (
    GgmlType(0, "F32", 1, 4),
    GgmlType(1, "F16", 1, 2),
    GgmlType(2, "Q4_0", 32, 18),
    GgmlType(3, "Q4_1", 32, 20),
    GgmlType(6, "Q5_0", 32, 22),
    GgmlType(7, "Q5_1", 32, 24),
    GgmlType(8, "Q8_0", 32, 34),
    GgmlType(9, "Q8_1", 32, 36),
    GgmlType(10, "Q2_K", 256, 84),
    GgmlType(11, "Q3_K", 256, 110),
    GgmlType(12, "Q4_K", 256, 144),
    GgmlType(13, "Q5_K", 256, 176),
    GgmlType(14, "Q6_K", 256, 210),
    GgmlType(15, "Q8_K", 256, 292),
    GgmlType(16, "IQ2_XXS", 256, 66),
    GgmlType(17, "IQ2_XS", 256, 74),
    GgmlType(18, "IQ3_XXS", 256, 98),
    GgmlType(19, "IQ1_S", 256, 50),
    GgmlType(20, "IQ4_NL", 32, 18),
    GgmlType(21, "IQ3_S", 256, 110),
    GgmlType(22, "IQ2_S", 256, 82),
    GgmlType(23, "IQ4_XS", 256, 136),
    GgmlType(24, "I8", 1, 1),
    GgmlType(25, "I16", 1, 2),
    GgmlType(26, "I32", 1, 4),
    GgmlType(27, "I64", 1, 8),
    GgmlType(28, "F64", 1, 8),
    GgmlType(29, "IQ1_M", 256, 56),
    GgmlType(30, "BF16", 1, 2),
    GgmlType(34, "TQ1_0", 256, 54),
    GgmlType(35, "TQ2_0", 256, 66),
    GgmlType(39, "MXFP4", 32, 17),
    GgmlType(40, "NVFP4", 64, 36),
    GgmlType(41, "Q1_0", 128, 18),
    GgmlType(42, "Q2_0", 64, 18),
)

GGML_TYPES_BY_ID: dict[int, GgmlType] = {t.id: t for t in _TYPES}
GGML_TYPES: dict[str, GgmlType] = {t.name: t for t in _TYPES}

# llama_ftype (general.file_type) -> the name llama-quantize and users use.
FILE_TYPES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
    10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
    16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S",
    22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
    28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0",
    37: "TQ2_0", 38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0", 41: "Q2_0",
}
FILE_TYPE_IDS: dict[str, int] = {v: k for k, v in FILE_TYPES.items()}

# Bit 10 of general.file_type marks "guessed" (set by old converters).
_GUESSED = 1024


def file_type_name(value: int) -> str | None:
    """`general.file_type` as a name ("Q4_K_M"), or None for an id this version does not know."""
    return FILE_TYPES.get(value & ~_GUESSED)


def tensor_bytes(type_name: str, shape: tuple[int, ...]) -> int:
    """Size of a tensor of `shape` (ggml order) stored as `type_name`, as ggml_nbytes gives it."""
    t = GGML_TYPES[type_name]
    n = 1
    for d in shape:
        n *= d
    return t.row_bytes(n)
