"""Small real GGUF files for tests, written with the gguf package's own writer (zeros as data)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, GGUFValueType, GGUFWriter

from core.facts.ggml_types import GGML_TYPES, tensor_bytes


def add_kv(w: GGUFWriter, key: str, value: Any) -> None:
    if isinstance(value, bool):
        w.add_bool(key, value)
    elif isinstance(value, str):
        w.add_string(key, value)
    elif isinstance(value, float):
        w.add_float32(key, value)
    elif isinstance(value, int):
        w.add_uint32(key, value)
    elif isinstance(value, list) and value and isinstance(value[0], str):
        w.add_array(key, value)
    elif isinstance(value, list):
        sub = GGUFValueType.BOOL if value and isinstance(value[0], bool) else GGUFValueType.UINT32
        w.add_key_value(key, value, GGUFValueType.ARRAY, sub_type=sub)
    else:
        raise TypeError(key)


def write_gguf(path: Path, arch: str, kv: Mapping[str, Any],
               tensors: Iterable[tuple[str, tuple[int, ...], str]], *, split_max_tensors: int = 0) -> Path:
    """A GGUF with real (zero) tensor data; shapes are ggml order, types ggml names."""
    w = GGUFWriter(str(path), arch, split_max_tensors=split_max_tensors)
    for key, value in kv.items():
        add_kv(w, key, value)
    for name, shape, type_name in tensors:
        gt = GGML_TYPES[type_name]
        if type_name == "F32":
            w.add_tensor(name, np.zeros(tuple(reversed(shape)), dtype=np.float32))
        elif type_name == "F16":
            w.add_tensor(name, np.zeros(tuple(reversed(shape)), dtype=np.float16))
        else:
            n = tensor_bytes(type_name, shape)
            rows = (*reversed(shape[1:]), shape[0] // gt.block_size * gt.type_size)
            raw = np.zeros(rows, dtype=np.uint8)
            assert raw.nbytes == n
            w.add_tensor(name, raw, raw_dtype=GGMLQuantizationType[type_name])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def llama_kv(n_layer: int = 2, n_embd: int = 64, n_head: int = 4, n_head_kv: int = 2, n_ff: int = 128,
             ctx: int = 2048, **extra: Any) -> dict[str, Any]:
    kv: dict[str, Any] = {
        "general.name": "Test Llama",
        "general.file_type": 1,
        "llama.block_count": n_layer,
        "llama.context_length": ctx,
        "llama.embedding_length": n_embd,
        "llama.feed_forward_length": n_ff,
        "llama.attention.head_count": n_head,
        "llama.attention.head_count_kv": n_head_kv,
        "llama.attention.layer_norm_rms_epsilon": 1e-5,
        "tokenizer.ggml.model": "llama",
        "tokenizer.chat_template": "{{ messages }}",
    }
    kv.update(extra)
    return kv


Spec = list[tuple[str, tuple[int, ...], str]]


def llama_tensors(n_layer: int = 2, n_embd: int = 64, n_head: int = 4, n_head_kv: int = 2, n_ff: int = 128,
                  n_vocab: int = 96, tied: bool = False, wtype: str = "F16") -> Spec:
    hd = n_embd // n_head
    out: Spec = [("token_embd.weight", (n_embd, n_vocab), wtype),
                                                   ("output_norm.weight", (n_embd,), "F32")]
    if not tied:
        out.append(("output.weight", (n_embd, n_vocab), wtype))
    for i in range(n_layer):
        b = f"blk.{i}."
        out += [
            (b + "attn_norm.weight", (n_embd,), "F32"),
            (b + "attn_q.weight", (n_embd, hd * n_head), wtype),
            (b + "attn_k.weight", (n_embd, hd * n_head_kv), wtype),
            (b + "attn_v.weight", (n_embd, hd * n_head_kv), wtype),
            (b + "attn_output.weight", (hd * n_head, n_embd), wtype),
            (b + "ffn_norm.weight", (n_embd,), "F32"),
            (b + "ffn_gate.weight", (n_embd, n_ff), wtype),
            (b + "ffn_up.weight", (n_embd, n_ff), wtype),
            (b + "ffn_down.weight", (n_ff, n_embd), wtype),
        ]
    return out
