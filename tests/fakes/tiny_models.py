"""Real, tiny Llama-architecture Hugging Face checkpoints, made offline.

Each checkpoint is what a user downloads from the Hub, only small: config.json
(LlamaForCausalLM), bf16 safetensors with seeded random weights, a
SentencePiece tokenizer.model trained here on a small corpus (byte fallback
on, so any text tokenizes), tokenizer_config.json with a chat template and
special tokens, generation_config.json. The real convert_hf_to_gguf.py turns
them into GGUF files that llama-quantize and llama-server accept.

The variants exist for the planner's rules: `TINY_LLAMA` has every row length
a multiple of 256 so K-quants apply; `TINY_ODD` has none, so llama-quantize
falls back to 32-block types; `TINY_GQA_TIED` has fewer KV heads than heads
and ties output to token_embd. `write_checkpoint(..., shards=3)` writes the
sharded layout (model-0000i-of-0000N + index) the pipeline's missing-shard
checks need.

Everything is deterministic, so `ensure_hf_model` / `ensure_gguf` cache the
results under the test cache keyed by content and build each once per machine.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import sentencepiece as spm

from tests.support.llamacpp import cache_root

# Bump when the files written here change, so cached models are rebuilt.
FACTORY_VERSION = "1"

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
CHAT_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")

# Zephyr-style: every turn is "<|role|>\n{content}</s>\n". llama-server renders it
# with its Jinja engine; the role markers are single control tokens.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)


@dataclasses.dataclass(frozen=True)
class TinySpec:
    name: str
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    vocab_size: int = 512
    tie_word_embeddings: bool = False
    torch_dtype: str = "bfloat16"  # what real checkpoints ship: bfloat16 | float16 | float32
    max_position_embeddings: int = 4096
    seed: int = 0

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    def key(self) -> str:
        """Content key: the spec, the factory and the tokenizer trainer's version."""
        blob = json.dumps([dataclasses.asdict(self), FACTORY_VERSION, spm.__version__], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


# Every quantized row length (256, 768) is a multiple of 256: K-quants apply everywhere.
TINY_LLAMA = TinySpec("tiny-llama", hidden_size=256, intermediate_size=768, num_layers=4,
                      num_heads=4, num_kv_heads=4)
# GQA (8 heads share 2 KV heads) and output tied to token_embd.
TINY_GQA_TIED = TinySpec("tiny-llama-gqa-tied", hidden_size=256, intermediate_size=768, num_layers=4,
                         num_heads=8, num_kv_heads=2, tie_word_embeddings=True, seed=1)
# 320 and 864 are multiples of 32 but not of 256: llama-quantize must fall back.
TINY_ODD = TinySpec("tiny-llama-odd", hidden_size=320, intermediate_size=864, num_layers=3,
                    num_heads=5, num_kv_heads=5, seed=2)

VARIANTS = {s.name: s for s in (TINY_LLAMA, TINY_GQA_TIED, TINY_ODD)}


# --------------------------------------------------------------------------- tokenizer

_TEXT_EN = (
    "the a model runs on my machine with enough memory and a fast card the quick brown fox "
    "jumps over lazy dog local inference needs bandwidth context length cache layers heads "
    "tokens per second quantization keeps quality while saving space hello world how are you "
    "today tell me a story about llamas in the mountains they walk slowly and carry heavy loads "
    "numbers one two three four five six seven eight nine ten hundred thousand million"
)
_TEXT_ZH = "模型 显存 量化 上下文 推理 速度 你好 世界 今天 天气 很好 我们 一起 学习 本地 运行 大语言 羊驼"
_WORDS_EN = _TEXT_EN.split()
_WORDS_ZH = _TEXT_ZH.split()
_PUNCT = (".", ",", "?", "!", ":", ";", "。", "，", "？")


def corpus(n_lines: int = 4000, seed: int = 1234) -> Iterator[str]:
    """English and Chinese sentences (users chat in both), digits and code-ish lines."""
    rng = random.Random(seed)
    for i in range(n_lines):
        kind = i % 5
        if kind == 3:
            words = rng.choices(_WORDS_ZH, k=rng.randint(3, 10))
            yield "".join(words) + rng.choice(("。", "？", "！"))
        elif kind == 4:
            comment = rng.choice(_WORDS_EN)
            yield f"def f{i}(x): return x * {rng.randint(0, 999)} + {rng.random():.3f}  # {comment}"
        else:
            words = rng.choices(_WORDS_EN, k=rng.randint(4, 16))
            words[0] = words[0].capitalize()
            yield " ".join(words) + rng.choice(_PUNCT)


def train_tokenizer(vocab_size: int) -> bytes:
    """A SentencePiece BPE model with Llama's special ids (unk 0, bos 1, eos 2)."""
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=corpus(),
        model_writer=buf,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        unk_piece=UNK, bos_piece=BOS, eos_piece=EOS,
        user_defined_symbols=list(CHAT_TOKENS),
        split_digits=True,
        num_threads=1,
        minloglevel=2,
    )
    return buf.getvalue()


# --------------------------------------------------------------------------- weights


def _to_bf16_bits(a: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, round to nearest even (numpy has no bf16)."""
    bits = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounded = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
    return (rounded >> np.uint32(16)).astype(np.uint16)


_ST_DTYPES = {"bfloat16": ("BF16", 2), "float16": ("F16", 2), "float32": ("F32", 4)}


def _encode(a: np.ndarray, torch_dtype: str) -> bytes:
    if torch_dtype == "bfloat16":
        return _to_bf16_bits(a).tobytes()
    if torch_dtype == "float16":
        return a.astype("<f2").tobytes()
    return a.astype("<f4").tobytes()


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], torch_dtype: str) -> int:
    """The safetensors layout written directly, so bf16 works without torch. Returns data bytes."""
    st_dtype, width = _ST_DTYPES[torch_dtype]
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, arr in tensors.items():
        n = int(arr.size) * width
        header[name] = {"dtype": st_dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(raw)))
        fh.write(raw)
        for arr in tensors.values():
            fh.write(_encode(arr, torch_dtype))
    return offset


def hf_tensors(spec: TinySpec) -> dict[str, np.ndarray]:
    """Llama weights in PyTorch layout (out_features, in_features), seeded."""
    rng = np.random.default_rng(spec.seed)
    h, f, d = spec.hidden_size, spec.intermediate_size, spec.head_dim
    kv = spec.num_kv_heads * d

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)

    out: dict[str, np.ndarray] = {"model.embed_tokens.weight": w(spec.vocab_size, h)}
    for i in range(spec.num_layers):
        p = f"model.layers.{i}."
        out[p + "self_attn.q_proj.weight"] = w(spec.num_heads * d, h)
        out[p + "self_attn.k_proj.weight"] = w(kv, h)
        out[p + "self_attn.v_proj.weight"] = w(kv, h)
        out[p + "self_attn.o_proj.weight"] = w(h, spec.num_heads * d)
        out[p + "mlp.gate_proj.weight"] = w(f, h)
        out[p + "mlp.up_proj.weight"] = w(f, h)
        out[p + "mlp.down_proj.weight"] = w(h, f)
        out[p + "input_layernorm.weight"] = np.ones(h, dtype=np.float32)
        out[p + "post_attention_layernorm.weight"] = np.ones(h, dtype=np.float32)
    out["model.norm.weight"] = np.ones(h, dtype=np.float32)
    if not spec.tie_word_embeddings:
        out["lm_head.weight"] = w(spec.vocab_size, h)
    return out


# --------------------------------------------------------------------------- checkpoint


def config_json(spec: TinySpec) -> dict[str, object]:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": spec.hidden_size,
        "intermediate_size": spec.intermediate_size,
        "num_hidden_layers": spec.num_layers,
        "num_attention_heads": spec.num_heads,
        "num_key_value_heads": spec.num_kv_heads,
        "head_dim": spec.head_dim,
        "vocab_size": spec.vocab_size,
        "max_position_embeddings": spec.max_position_embeddings,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": spec.tie_word_embeddings,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": spec.torch_dtype,
        "initializer_range": 0.02,
        "transformers_version": "4.57.6",
    }


def _tokenizer_config() -> dict[str, object]:
    specials = {
        "0": UNK, "1": BOS, "2": EOS,
        **{str(3 + i): tok for i, tok in enumerate(CHAT_TOKENS)},
    }
    return {
        "tokenizer_class": "LlamaTokenizer",
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": BOS,
        "eos_token": EOS,
        "unk_token": UNK,
        "pad_token": None,
        "legacy": False,
        "model_max_length": 4096,
        "chat_template": CHAT_TEMPLATE,
        "added_tokens_decoder": {
            k: {"content": v, "special": True, "lstrip": False, "rstrip": False,
                "normalized": False, "single_word": False}
            for k, v in specials.items()
        },
    }


def write_checkpoint(dest: Path, spec: TinySpec = TINY_LLAMA, *, shards: int = 1) -> Path:
    """Write the checkpoint into `dest` (created). `shards` > 1 writes the indexed layout."""
    dest.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(spec.vocab_size)
    trained = spm.SentencePieceProcessor(model_proto=tokenizer).vocab_size()
    if trained != spec.vocab_size:
        raise RuntimeError(f"tokenizer trained to {trained} pieces, spec wants {spec.vocab_size}")
    (dest / "tokenizer.model").write_bytes(tokenizer)
    (dest / "tokenizer_config.json").write_text(json.dumps(_tokenizer_config(), indent=2))
    special_map = {"bos_token": BOS, "eos_token": EOS, "unk_token": UNK}
    (dest / "special_tokens_map.json").write_text(json.dumps(special_map))
    (dest / "config.json").write_text(json.dumps(config_json(spec), indent=2))
    generation = {"bos_token_id": 1, "eos_token_id": 2, "do_sample": True, "temperature": 0.7, "top_p": 0.9}
    (dest / "generation_config.json").write_text(json.dumps(generation, indent=2))

    tensors = hf_tensors(spec)
    if shards <= 1:
        write_safetensors(dest / "model.safetensors", tensors, spec.torch_dtype)
        return dest
    names = list(tensors)
    per = -(-len(names) // shards)
    weight_map: dict[str, str] = {}
    total = 0
    for i in range(shards):
        part = names[i * per:(i + 1) * per]
        fname = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        total += write_safetensors(dest / fname, {n: tensors[n] for n in part}, spec.torch_dtype)
        weight_map.update({n: fname for n in part})
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (dest / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
    return dest


# --------------------------------------------------------------------------- cache


def _models_root() -> Path:
    return cache_root().parent / "tiny-models"


def _locked_build(final: Path, build: Callable[[Path], Path]) -> Path:
    """Build into a temp sibling and rename, under a lock, so readers never see half a model."""
    final.parent.mkdir(parents=True, exist_ok=True)
    with (final.parent / (final.name + ".lock")).open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if final.exists():
            return final
        tmp = Path(tempfile.mkdtemp(prefix=final.name + ".", suffix=".part", dir=final.parent))
        try:
            produced = build(tmp)
            produced.rename(final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def ensure_hf_model(spec: TinySpec = TINY_LLAMA, *, shards: int = 1) -> Path:
    """The cached checkpoint dir for `spec` (read-only by convention: copy it to modify it)."""
    suffix = f"-{shards}shards" if shards > 1 else ""
    # The dir is named after the model: the converter takes general.name from it.
    final = _models_root() / f"hf-{spec.key()}{suffix}" / spec.name
    if final.exists():
        return final
    return _locked_build(final, lambda tmp: write_checkpoint(tmp / "model", spec, shards=shards))


def convert(model_dir: Path, outfile: Path, *, python: Path, convert_script: Path,
            outtype: str = "f16", timeout: float = 600) -> Path:
    """Run the real convert_hf_to_gguf.py; writes `<outfile>.part` and renames on success."""
    part = outfile.with_name(outfile.name + ".part")
    cmd = [str(python), str(convert_script), str(model_dir), "--outfile", str(part), "--outtype", outtype]
    # The converter reads only the local folder; never let it reach for the Hub.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    if proc.returncode != 0 or not part.exists():
        part.unlink(missing_ok=True)
        raise RuntimeError(f"convert_hf_to_gguf.py failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    part.rename(outfile)
    return outfile


def ensure_gguf(spec: TinySpec = TINY_LLAMA, *, outtype: str = "f16",
                python: Path | None = None, convert_script: Path | None = None) -> Path:
    """The cached GGUF the real converter makes from `spec`'s checkpoint."""
    from tests.support.converter_env import ensure_converter_python, env_key
    from tests.support.llamacpp import ensure_source

    python = python or ensure_converter_python()
    convert_script = convert_script or ensure_source() / "convert_hf_to_gguf.py"
    key = hashlib.sha256(f"{spec.key()}|{outtype}|{env_key()}".encode()).hexdigest()[:12]
    final = _models_root() / f"{spec.name}-{outtype}-{key}.gguf"
    if final.exists():
        return final
    hf = ensure_hf_model(spec)

    def build(tmp: Path) -> Path:
        return convert(hf, tmp / final.name, python=python, convert_script=convert_script, outtype=outtype)

    return _locked_build(final, build)


if __name__ == "__main__":
    for spec in VARIANTS.values():
        print(ensure_gguf(spec), file=sys.stdout)
