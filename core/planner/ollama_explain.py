"""Predicted against actual: which Ollama setting explains what `ollama ps` shows instead.

`explain_difference` compares a prediction (core.planner.ollama_load) with
the `/api/ps` entry of the loaded model and names, in a sentence each, the
setting that accounts for a difference: the context (num_ctx from a request
or the Modelfile, OLLAMA_CONTEXT_LENGTH, the VRAM tiers and Ollama's retry
with a smaller automatic context), the size (the KV cache follows num_ctx x
OLLAMA_NUM_PARALLEL x the OLLAMA_KV_CACHE_TYPE element size, so the slots
and cache type that reproduce the actual size are named), and the CPU/GPU
split (num_gpu, other loaded models, free VRAM, LLAMA_ARG_FIT_TARGET).
Sources are those of core.planner.ollama_load (Ollama v0.32.15).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.ollama.server_settings import OllamaServerSettings
from core.ollama.types import RunningModel
from core.planner.ollama_load import FIT_TARGET_DEFAULT_MIB, OllamaPrediction
from core.units import format_bytes_decimal

MIB = 1024**2
SIZE_SLACK = 0.05  # the planner's GPU buffers are within a few per cent; more than this is a difference
SIZE_FLOOR = 256 * MIB
SPLIT_SLACK = 5  # percentage points of the CPU/GPU split
KV_BYTES = {"f16": 2.0, "bf16": 2.0, "f32": 4.0, "q8_0": 34 / 32, "q5_1": 24 / 32, "q5_0": 22 / 32,
            "q4_1": 20 / 32, "q4_0": 18 / 32, "iq4_nl": 18 / 32}


def close(a: int, b: int) -> bool:
    """Are two sizes the same for this purpose (within max(5 %, 256 MiB))?"""
    return abs(a - b) <= max(SIZE_SLACK * max(a, b), SIZE_FLOOR)


def cpu_percent(size: int, size_vram: int) -> int:
    """The CPU share `ollama ps` prints (0 for 100% GPU, 100 for 100% CPU)."""
    if size <= 0 or size_vram >= size:
        return 0
    return int((size - size_vram) / size * 100 + 0.5)


@dataclass(frozen=True)
class LoadComparison:
    """A prediction beside what the server reports, and the sentences that explain the gap."""

    predicted: OllamaPrediction
    actual: RunningModel
    sentences: tuple[str, ...]

    @property
    def matches(self) -> bool:
        return not self.sentences


def compare_load(predicted: OllamaPrediction, actual: RunningModel, settings: OllamaServerSettings,
                 others: Sequence[RunningModel] = ()) -> LoadComparison:
    return LoadComparison(predicted, actual, tuple(explain_difference(predicted, actual, settings, others)))


def explain_difference(predicted: OllamaPrediction, actual: RunningModel, settings: OllamaServerSettings,
                       others: Sequence[RunningModel] = ()) -> list[str]:
    """One sentence per difference between the prediction and `actual`, naming the setting behind it.

    `others` are the other models loaded on the server: their VRAM was not
    free when this one was placed. Empty when the prediction holds.
    """
    if predicted.error:
        return [f"Ollama loaded it, but with the settings assumed it would not: {predicted.error} "
                f"(OLLAMA_FLASH_ATTENTION: {settings.source('flash_attention')}; OLLAMA_KV_CACHE_TYPE: "
                f"{settings.source('kv_cache_type')}.)"]
    out = []
    ctx = actual.context_length
    if ctx is not None and ctx != predicted.num_ctx:
        out.append(_context(predicted, ctx, settings))
    if not close(predicted.size, actual.size):
        out.append(_size(predicted, actual, settings))
    split = cpu_percent(actual.size, actual.size_vram) - cpu_percent(predicted.size, predicted.size_vram)
    if abs(split) > SPLIT_SLACK:
        out += _split(predicted, actual, settings, others, more_on_cpu=split > 0)
    return out


def _context(p: OllamaPrediction, ctx: int, s: OllamaServerSettings) -> str:
    head = f"Context {ctx}, not {p.num_ctx}: "
    if s.num_ctx is not None:
        return head + (f"num_ctx {s.num_ctx} was taken from {s.source('num_ctx')}; a request's "
                       "options.num_ctx overrides the Modelfile's, and Ollama reloads the model for it.")
    if s.context_length:
        where = s.source("context_length")
        return head + (f"OLLAMA_CONTEXT_LENGTH={s.context_length} was assumed ({where}); the server runs "
                       f"with another value, or a request or the Modelfile set num_ctx {ctx}.")
    text = head + (f"OLLAMA_CONTEXT_LENGTH is not set ({s.source('context_length')}), so the VRAM-based "
                   "default applies")
    if ctx < p.num_ctx and ctx in (4096, 32768):
        text += ("; after a load that ran out of memory Ollama retries once with the next smaller "
                 "automatic context (server/sched.go reduceAutoNumCtxForLoadOOM), or the server counts "
                 "less total VRAM (OLLAMA_GPU_OVERHEAD lowers it)")
    return text + f". A request's num_ctx or the Modelfile's PARAMETER num_ctx {ctx} would also do it."


def _kv_candidates(p: OllamaPrediction, actual: RunningModel) -> list[tuple[int, int, str]]:
    """(error, slots, cache type) rebuilding the actual size from the prediction, likeliest first.

    Within the slack, the explanation that changes fewer settings comes first:
    3 slots of f16 and 6 of q8_0 hold about the same, and the first is far
    likelier to be what a server runs with.
    """
    ctx = actual.context_length or p.num_ctx
    base = p.size - p.kv_cache
    per_cell = p.kv_cache / max(1, p.num_ctx * p.num_parallel) / KV_BYTES.get(p.kv_type, 2.0)
    out = []
    for slots in range(1, 9):
        for kv in ("f16", "q8_0", "q4_0"):
            size = base + per_cell * ctx * slots * KV_BYTES[kv]
            out.append((int(abs(size - actual.size)), slots, kv))
    slack = max(SIZE_SLACK * actual.size, SIZE_FLOOR)
    return sorted(out, key=lambda c: (c[0] > slack, (c[1] != p.num_parallel) + (c[2] != p.kv_type), c[0]))


def _size(p: OllamaPrediction, actual: RunningModel, s: OllamaServerSettings) -> str:
    diff = actual.size - p.size
    head = (f"Size {format_bytes_decimal(actual.size)}, {'more' if diff > 0 else 'less'} than the "
            f"{format_bytes_decimal(p.size)} predicted: ")
    err, slots, kv = _kv_candidates(p, actual)[0]
    if err <= max(SIZE_SLACK * actual.size, SIZE_FLOOR):
        named = []
        if slots != p.num_parallel:
            named.append(f"OLLAMA_NUM_PARALLEL={slots} (assumed {p.num_parallel}: "
                         f"{s.source('num_parallel')})")
        if kv != p.kv_type:
            named.append(f"OLLAMA_KV_CACHE_TYPE={kv} (assumed {p.kv_type}: {s.source('kv_cache_type')})")
        if named:
            return head + "it matches a KV cache of " + " and ".join(named) + " on the server."
        if actual.context_length not in (None, p.num_ctx):
            return head + "the context explains it: the KV cache holds num_ctx x OLLAMA_NUM_PARALLEL tokens."
    fa = f"OLLAMA_FLASH_ATTENTION ({p.flash_attention}: {s.source('flash_attention')})"
    return head + (f"no slot count or KV cache type explains it; the compute buffers follow {fa} and "
                   f"num_batch ({p.num_batch}), and a vision projector or draft model adds its own memory.")


def _split(p: OllamaPrediction, actual: RunningModel, s: OllamaServerSettings, others: Sequence[RunningModel],
           *, more_on_cpu: bool) -> list[str]:
    head = f"{actual.processor}, not {p.processor}: "
    fit = s.fit_target_mib if s.fit_target_mib is not None else FIT_TARGET_DEFAULT_MIB
    fit_src = s.source("fit_target_mib") if s.fit_target_mib is not None else "llama.cpp's default"
    out = []
    if more_on_cpu:
        if others:
            held = sum(o.size_vram for o in others)
            names = ", ".join(o.name for o in others)
            out.append(head + f"{names} held {format_bytes_decimal(held)} of VRAM; fit only fills what is "
                       "free when the model loads.")
            head = ""
        if s.num_gpu is not None:
            out.append(head + f"num_gpu {s.num_gpu} ({s.source('num_gpu')}) fixes the layers on the GPU; a "
                       "request's num_gpu overrides it.")
        else:
            out.append(head + "less VRAM was free at load than assumed, a request or the Modelfile set "
                       f"num_gpu, or fit keeps more than LLAMA_ARG_FIT_TARGET={fit} MiB free ({fit_src}).")
        if s.gpu_overhead:
            out.append(f"OLLAMA_GPU_OVERHEAD ({format_bytes_decimal(s.gpu_overhead)}) does not move layers: "
                       "Ollama 0.32 does not pass it to llama-server; it only lowers the VRAM counted for "
                       "the default context.")
        return out
    if s.num_gpu is not None:
        return [head + f"num_gpu {s.num_gpu} ({s.source('num_gpu')}) was assumed; the load did not use it (a "
                "request's num_gpu, or none: fit placed the layers)."]
    return [head + f"more VRAM was free at load than assumed, or LLAMA_ARG_FIT_TARGET is below the {fit} MiB "
            f"assumed ({fit_src})."]
