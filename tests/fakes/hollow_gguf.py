"""Hollow GGUFs: real headers and tensor tables of known models, with no weights.

The accuracy benchmarks compare our planner with what llama.cpp itself says
(`llama-quantize --dry-run`, `llama-fit-params`) for real architectures, which
cannot be downloaded here. Those tools read only the header and the tensor
table, so a file with the model's exact metadata and tensor shapes and a
sparse (all-zero, never written) data region is enough: a "70B" file takes a
few KiB of disk. The metadata and tensor table come from the same core code
that plans catalog models, so a hollow file that llama.cpp loads also checks
that code.

The tokenizer section is the minimal one llama.cpp accepts: model "none" plus
`<arch>.vocab_size` (llama.cpp then adds that many dummy tokens), because the
tools never tokenize. Do not run llama-server on a big hollow file: it pages
the whole sparse region in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGMLQuantizationType, GGUFValueType, GGUFWriter

from core.facts import catalog
from core.facts.ggml_types import FILE_TYPE_IDS
from core.facts.hf_config import convert_config
from core.facts.model_arch import TensorOptions, derive_hparams, synthesise_tensors
from core.facts.quants import tensor_bytes
from core.facts.types import TensorInfo

# Keys llama.cpp reads as float32; every other number is written as uint32,
# which is what its typed getters expect.
_FLOAT_SUFFIXES = ("rope.freq_base", "layer_norm_rms_epsilon", "layer_norm_epsilon", "rope.scaling.factor",
                   "expert_weights_scale", "logit_softcapping", "rope.freq_base_swa")


def _add_value(w: GGUFWriter, key: str, value: Any) -> None:
    if isinstance(value, bool):
        w.add_bool(key, value)
    elif isinstance(value, str):
        w.add_string(key, value)
    elif isinstance(value, float) or key.endswith(_FLOAT_SUFFIXES):
        w.add_float32(key, float(value))
    elif isinstance(value, int):
        w.add_uint32(key, value)
    elif isinstance(value, list):
        sub = GGUFValueType.BOOL if value and isinstance(value[0], bool) else GGUFValueType.UINT32
        w.add_key_value(key, value, GGUFValueType.ARRAY, sub_type=sub)
    else:
        raise TypeError(f"cannot write {key}={value!r} into a GGUF")


def _vocabulary(n_tokens: int, n_merges: int) -> tuple[list[str], list[str]]:
    """Token and merge strings of realistic lengths, for header-reading benchmarks.

    Tokens are 2-10 bytes (8 on average; a BPE vocabulary's pieces average 6-7,
    with "Ġ" two bytes in UTF-8). A BPE merge "a b" joins two pieces into one
    token, so it is that token cut in two: one byte longer than the token.
    For Llama 3's 128256 tokens and 280147 merges that makes a 7.1 MB header (bench.discover).
    """
    tokens = [f"t{i:x}" + "abcd"[: i % 5] for i in range(n_tokens)]
    merges = []
    for i in range(n_merges):
        token = tokens[(i * 7 + 256) % n_tokens]
        half = max(1, len(token) // 2)
        merges.append(f"{token[:half]} {token[half:]}")
    return tokens, merges


def write_hollow_gguf(path: Path, metadata: Mapping[str, Any], tensors: tuple[TensorInfo, ...], *,
                      file_type: str = "F16", name: str | None = None,
                      vocabulary: tuple[int, int] | None = None) -> Path:
    """Write `metadata` and `tensors` as a GGUF whose data region is a hole.

    `vocabulary=(tokens, merges)` adds token and merge arrays of that length, as a
    real BPE model's header has them (llama.cpp ignores them with tokenizer "none").
    """
    arch = str(metadata["general.architecture"])
    w = GGUFWriter(str(path), arch)  # adds general.architecture itself
    w.add_type("model")
    w.add_name(name or path.stem)
    w.add_file_type(FILE_TYPE_IDS[file_type])
    w.add_quantization_version(2)
    for key, value in metadata.items():
        if key != "general.architecture":
            _add_value(w, key, value)
    w.add_string("tokenizer.ggml.model", "none")
    if vocabulary is not None:
        tokens, merges = _vocabulary(*vocabulary)
        w.add_token_list(tokens)
        w.add_token_types([1] * len(tokens))
        w.add_token_merges(merges)
    for t in tensors:
        w.add_tensor_info(t.name, tuple(reversed(t.shape)), np.dtype(np.float32), t.n_bytes,
                          raw_dtype=GGMLQuantizationType[t.ggml_type])
    w.write_header_to_file(path)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    assert w.fout is not None
    fh = w.fout[0]
    align = w.data_alignment
    data_start = -(-fh.tell() // align) * align
    data_size = sum(-(-t.n_bytes // align) * align for t in tensors)
    fh.truncate(data_start + data_size)  # extends with a hole: no blocks are written
    w.close()
    return path


def hollow_model(entry_id: str, dest_dir: Path, *, file_type: str = "F16",
                 vocabulary: tuple[int, int] | None = None,
                 quantized: tuple[str, Mapping[str, str]] | None = None) -> Path:
    """A hollow GGUF of a catalog model, weights typed `file_type` (F16, BF16 or F32).

    `vocabulary=(tokens, merges)` makes the header as big as the real one (Llama 3
    has 128256 tokens and 280147 merges) for header-reading benchmarks.
    `quantized=(quant, types)` writes the quant's file instead, each tensor typed
    as `types` says (tensor name -> ggml type, as `llama-quantize --dry-run`
    lists them): quantizing a hollow 70B for real would read 140 GB of zeros.
    """
    entry = catalog.find(entry_id)
    if entry is None:
        raise KeyError(entry_id)
    conv = convert_config(entry.config)
    meta = dict(conv.metadata)
    hp = derive_hparams(meta)
    opts = TensorOptions(tied_embeddings=conv.options.tied_embeddings, attn_bias=conv.options.attn_bias,
                         rope_freqs=conv.options.rope_freqs, base_type=file_type)
    tensors = synthesise_tensors(hp, opts)
    if quantized is not None:
        file_type, types = quantized
        tensors = tuple(dataclasses.replace(t, ggml_type=types[t.name],
                                            n_bytes=tensor_bytes(types[t.name], t.shape))
                        for t in tensors)  # fmt: skip
    meta.setdefault(f"{hp.arch}.attention.layer_norm_rms_epsilon", 1e-5)
    dest_dir.mkdir(parents=True, exist_ok=True)
    suffix = "-vocab" if vocabulary else ""
    return write_hollow_gguf(dest_dir / f"{entry.id}-{file_type}{suffix}.gguf", meta, tensors,
                             file_type=file_type, name=entry.name, vocabulary=vocabulary)
