"""Hugging Face checkpoints as llama.cpp will see them, without touching the weights.

A safetensors file starts with 8 bytes (little-endian header length) and a
JSON header naming every tensor's dtype, shape and byte range; that is all we
read, from a local folder or through huggingface_hub's ranged requests for a
repo id (HF_ENDPOINT mirrors and HF_TOKEN work as huggingface_hub reads them).
Tensor names and shapes are then mapped to the GGUF names and ggml shapes the
converter writes (q_proj -> attn_q, experts merged into ffn_*_exps, MLA's
kv_b split), so an HF model is planned exactly like its future GGUF.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelFactsError
from core.facts.ggml_types import tensor_bytes
from core.facts.model_arch import converter_type
from core.facts.types import TensorInfo

MAX_HEADER_BYTES = 100 << 20  # DeepSeek-V3's largest shard header is ~1 MiB
MAX_CONFIG_BYTES = 4 << 20
_AGAIN = "Download it again."


@dataclass(frozen=True)
class HfTensor:
    name: str
    dtype: str  # safetensors dtype: "BF16", "F16", "F32", "F8_E4M3", ...
    shape: tuple[int, ...]  # PyTorch order


@dataclass(frozen=True)
class HfCheckpoint:
    name: str
    config: dict[str, Any]
    tensors: tuple[HfTensor, ...]
    total_bytes: int | None  # weights on disk / in the repo
    chat_template: str | None = None


# --------------------------------------------------------------------------- local folders


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ModelFactsError(f"{path} is too large to be a {what}.")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFactsError(
            f"{path.parent} has no {path.name}, so it is not a Hugging Face checkpoint.",
            hint="Pick the folder that holds config.json and the .safetensors files.",
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFactsError(f"{path} cannot be read as a {what}: {exc}.") from None
    if not isinstance(data, dict):
        raise ModelFactsError(f"{path} is not a {what}: it holds no JSON object.")
    return data


def safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of one .safetensors file (8-byte length, then JSON)."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(8)
            if len(raw) < 8:
                raise ModelFactsError(f"{path.name} is too short to be a safetensors file.",
                                      hint="The download stopped early; fetch it again.")
            (n,) = struct.unpack("<Q", raw)
            size = path.stat().st_size
            if n > MAX_HEADER_BYTES or 8 + n > size:
                raise ModelFactsError(
                    f"{path.name} claims a {n:,}-byte header in a {size:,}-byte file: "
                    "it is truncated or corrupt.",
                    hint="Download it again.")
            header = json.loads(fh.read(n))
    except OSError as exc:
        raise ModelFactsError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ModelFactsError(f"{path.name} has a corrupt safetensors header.", hint=_AGAIN) from None
    if not isinstance(header, dict):
        raise ModelFactsError(f"{path.name} has a corrupt safetensors header.", hint=_AGAIN)
    return header


def _tensors_of(header: Mapping[str, Any], file: str) -> list[HfTensor]:
    out = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            out.append(HfTensor(name, str(info["dtype"]), tuple(int(d) for d in info["shape"])))
        except (KeyError, TypeError, ValueError):
            raise ModelFactsError(f"{file} describes tensor {name!r} incorrectly.",
                                  hint="The file is corrupt; download it again.") from None
    return out


def shard_files(folder: Path) -> list[str]:
    """The .safetensors files a checkpoint needs, from its index when it has one.

    A missing shard is the most common broken download; the error lists every
    one that is absent so the user can fetch exactly those.
    """
    index = folder / "model.safetensors.index.json"
    if index.exists():
        weight_map = read_json(index, "safetensors index").get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ModelFactsError(f"{index} has no weight_map.", hint="Download the index again.")
        files = sorted({str(f) for f in weight_map.values()})
    elif (folder / "model.safetensors").exists():
        files = ["model.safetensors"]
    else:
        found = sorted(p.name for p in folder.glob("*.safetensors"))
        if not found:
            bins = sorted(p.name for p in folder.glob("*.bin"))
            extra = " It has only PyTorch .bin files, which llamadeck does not read." if bins else ""
            raise ModelFactsError(f"{folder} has no .safetensors files.{extra}",
                                  hint="Download the model's weights into this folder.")
        files = found
    missing = [f for f in files if not (folder / f).exists()]
    if missing:
        raise ModelFactsError(
            f"{folder.name} is missing {len(missing)} of its {len(files)} weight files: "
            f"{', '.join(missing)}.",
            hint="Download the missing files before converting.")
    return files


def read_local(folder: Path) -> HfCheckpoint:
    config = read_json(folder / "config.json", "model config")
    tensors: list[HfTensor] = []
    total = 0
    for f in shard_files(folder):
        path = folder / f
        tensors.extend(_tensors_of(safetensors_header(path), f))
        total += path.stat().st_size
    return HfCheckpoint(folder.name, config, tuple(tensors), total, local_chat_template(folder))


def local_chat_template(folder: Path) -> str | None:
    jinja = folder / "chat_template.jinja"
    if jinja.exists():
        try:
            return jinja.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    tc = folder / "tokenizer_config.json"
    if not tc.exists():
        return None
    try:
        return template_from_tokenizer_config(read_json(tc, "tokenizer config"))
    except ModelFactsError:
        return None


def template_from_tokenizer_config(tc: Mapping[str, Any]) -> str | None:
    t = tc.get("chat_template")
    if isinstance(t, str):
        return t
    if isinstance(t, list):  # [{"name": "default", "template": ...}, ...]
        for entry in t:
            if isinstance(entry, Mapping) and entry.get("name") == "default":
                return str(entry.get("template"))
    return None


# --------------------------------------------------------------------------- name mapping

_PREFIXES = (("model.language_model.", "model."), ("language_model.model.", "model."),
             ("language_model.lm_head.", "lm_head."))
_SKIP = re.compile(r"(^|\.)(vision_tower|vision_model|multi_modal_projector|visual|audio_tower)\.|"
                   r"rotary_emb\.inv_freq$|\.weight_scale_inv$|_scale$")
_LAYER = re.compile(r"^model\.layers\.(\d+)\.(.+)$")
_EXPERT = re.compile(r"^(?:mlp|block_sparse_moe)\.experts\.(\d+)\.(\w+)\.weight$")
_EXPERT_PROJ = {"gate_proj": "gate", "up_proj": "up", "down_proj": "down",
                "w1": "gate", "w3": "up", "w2": "down"}
_GEMMA_NORMS = {
    "post_attention_layernorm.weight": "post_attention_norm.weight",
    "pre_feedforward_layernorm.weight": "ffn_norm.weight",
    "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
}
_SUFFIXES = {
    "input_layernorm.weight": "attn_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "mlp.gate.weight": "ffn_gate_inp.weight",
    "block_sparse_moe.gate.weight": "ffn_gate_inp.weight",
    "mlp.gate.e_score_correction_bias": "exp_probs_b.bias",
    "mlp.shared_expert_gate.weight": "ffn_gate_inp_shexp.weight",
    "self_attn.q_a_proj.weight": "attn_q_a.weight",
    "self_attn.q_a_layernorm.weight": "attn_q_a_norm.weight",
    "self_attn.q_b_proj.weight": "attn_q_b.weight",
    "self_attn.kv_a_proj_with_mqa.weight": "attn_kv_a_mqa.weight",
    "self_attn.kv_a_layernorm.weight": "attn_kv_a_norm.weight",
}
_ATTN = (("q_proj", "attn_q"), ("k_proj", "attn_k"), ("v_proj", "attn_v"), ("o_proj", "attn_output"))
_SHEXP = (("gate_proj", "ffn_gate_shexp"), ("up_proj", "ffn_up_shexp"), ("down_proj", "ffn_down_shexp"))
for _proj, _g in _ATTN:
    for _kind in ("weight", "bias"):
        _SUFFIXES[f"self_attn.{_proj}.{_kind}"] = f"{_g}.{_kind}"
for _shared in ("shared_expert", "shared_experts"):
    for _proj, _g in _SHEXP:
        _SUFFIXES[f"mlp.{_shared}.{_proj}.weight"] = f"{_g}.weight"


def _base_type(dtype: str) -> str:
    """What the converter writes a source dtype as: 16-bit stays, FP8 is dequantised to BF16."""
    return {"F16": "F16", "F32": "F32"}.get(dtype, "BF16")


@dataclass(frozen=True)
class MappedTensors:
    tensors: tuple[TensorInfo, ...]
    unmapped: tuple[str, ...]  # HF names with no GGUF counterpart here (kept under their HF name)


def map_tensors(arch: str, config: Mapping[str, Any], tensors: Iterable[HfTensor], *,
                n_layer: int, tied: bool, rope_freqs_dim: int | None) -> MappedTensors:
    """HF tensors -> GGUF names and ggml shapes, as convert_hf_to_gguf.py writes them."""
    out: list[TensorInfo] = []
    unmapped: list[str] = []
    experts: dict[tuple[int, str], list[HfTensor]] = {}
    gemma = arch in ("gemma2", "gemma3")

    def add(name: str, shape: tuple[int, ...], dtype: str) -> None:
        t = converter_type(name, len(shape), _base_type(dtype))
        out.append(TensorInfo(name, shape, t, tensor_bytes(t, shape)))

    for t in tensors:
        name = t.name
        for old, new in _PREFIXES:
            if name.startswith(old):
                name = new + name[len(old):]
        if _SKIP.search(name):
            continue
        ggml_shape = tuple(reversed(t.shape))
        if name == "model.embed_tokens.weight":
            add("token_embd.weight", ggml_shape, t.dtype)
        elif name == "model.norm.weight":
            add("output_norm.weight", ggml_shape, t.dtype)
        elif name == "lm_head.weight":
            if not tied:
                add("output.weight", ggml_shape, t.dtype)
        elif m := _LAYER.match(name):
            bid, rest = int(m[1]), m[2]
            if bid >= n_layer:  # multi-token-prediction layers: the converter skips them
                continue
            if gemma and rest in _GEMMA_NORMS:
                add(f"blk.{bid}.{_GEMMA_NORMS[rest]}", ggml_shape, t.dtype)
            elif rest in _SUFFIXES:
                shape = ggml_shape if rest != "mlp.shared_expert_gate.weight" else (t.shape[-1],)
                add(f"blk.{bid}.{_SUFFIXES[rest]}", shape, t.dtype)
            elif e := _EXPERT.match(rest):
                proj = _EXPERT_PROJ.get(e[2])
                if proj is None:
                    unmapped.append(t.name)
                else:
                    experts.setdefault((bid, proj), []).append(t)
            elif rest == "self_attn.kv_b_proj.weight":
                _split_kv_b(bid, t, config, add)
            else:
                unmapped.append(t.name)
        else:
            unmapped.append(t.name)
    for (bid, proj), group in sorted(experts.items()):
        first = group[0]
        add(f"blk.{bid}.ffn_{proj}_exps.weight", (*reversed(first.shape), len(group)), first.dtype)
    if rope_freqs_dim:
        add("rope_freqs.weight", (rope_freqs_dim,), "F32")
    return MappedTensors(tuple(out), tuple(unmapped))


def _split_kv_b(bid: int, t: HfTensor, config: Mapping[str, Any], add: Any) -> None:
    """MLA's kv_b_proj becomes attn_k_b (transposed per head) and attn_v_b."""
    n_head = int(config["num_attention_heads"])
    nope = int(config["qk_nope_head_dim"])
    v = int(config["v_head_dim"])
    kv_lora = t.shape[1]
    add(f"blk.{bid}.attn_k_b.weight", (nope, kv_lora, n_head), t.dtype)
    add(f"blk.{bid}.attn_v_b.weight", (kv_lora, v, n_head), t.dtype)
