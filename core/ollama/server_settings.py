"""The settings of an `ollama serve` that change how it loads a model, and where each came from.

Ollama's API does not report them, so llamadeck reads them where it can
(core.ollama.server_env: the running server's environment, systemd, the
config) and falls back to Ollama's own defaults, saying which for each value.
Parsing follows Ollama's envconfig/config.go (read from Ollama v0.32.15, the
newest release stored; v0.33.0-rc2 has the same file):

- `Var` trims spaces and then quotes around a value;
- `Uint`/`Uint64` keep the default when the value is not a plain unsigned
  number (OLLAMA_CONTEXT_LENGTH=8k is ignored, with a warning in its log);
- `BoolWithDefault` takes strconv.ParseBool's words (1, t, true, 0, f,
  false, ...) and treats any other non-empty value as *true*;
- OLLAMA_FLASH_ATTENTION is "set" only when non-empty: unset means auto.

Pure: no I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

DEFAULT = "Ollama's default"
# The variables that move memory; the order is the order a user reads them in.
ENV_NAMES = (
    "OLLAMA_CONTEXT_LENGTH",
    "OLLAMA_NUM_PARALLEL",
    "OLLAMA_FLASH_ATTENTION",
    "OLLAMA_KV_CACHE_TYPE",
    "OLLAMA_GPU_OVERHEAD",
    "OLLAMA_SCHED_SPREAD",
    "LLAMA_ARG_FIT_TARGET",
    "LLAMA_ARG_FIT",
)
# field of OllamaServerSettings -> the environment variable it is read from
FIELD_ENV = {
    "context_length": "OLLAMA_CONTEXT_LENGTH",
    "num_parallel": "OLLAMA_NUM_PARALLEL",
    "flash_attention": "OLLAMA_FLASH_ATTENTION",
    "kv_cache_type": "OLLAMA_KV_CACHE_TYPE",
    "gpu_overhead": "OLLAMA_GPU_OVERHEAD",
    "sched_spread": "OLLAMA_SCHED_SPREAD",
    "fit_target_mib": "LLAMA_ARG_FIT_TARGET",
    "fit": "LLAMA_ARG_FIT",
}
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


@dataclass(frozen=True)
class OllamaServerSettings:
    """What one Ollama server (and the model's Modelfile or a request) sets for a load.

    Server-wide: the environment of `ollama serve`. Per model: `num_ctx`,
    `num_gpu` and `num_batch` from the Modelfile's PARAMETER lines or a
    request's options (None: not set). `sources` says, per field, where its
    value came from ("Ollama's default" where nothing set it).
    """

    context_length: int = 0  # OLLAMA_CONTEXT_LENGTH; 0 = by total VRAM (4k / 32k / 256k)
    num_parallel: int = 1  # OLLAMA_NUM_PARALLEL
    flash_attention: bool | None = None  # OLLAMA_FLASH_ATTENTION; None = unset, llama-server's "auto"
    kv_cache_type: str = ""  # OLLAMA_KV_CACHE_TYPE, lower-cased; "" = not passed (f16)
    gpu_overhead: int = 0  # OLLAMA_GPU_OVERHEAD, bytes per GPU
    sched_spread: bool = False  # OLLAMA_SCHED_SPREAD
    fit_target_mib: int | None = None  # LLAMA_ARG_FIT_TARGET (MiB kept free per GPU); None = 1024
    fit: bool = True  # LLAMA_ARG_FIT (llama-server's --fit, on unless "off")
    num_ctx: int | None = None
    num_gpu: int | None = None
    num_batch: int | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def source(self, name: str) -> str:
        """Where a field's value came from; `sources["*"]` says why the others are defaults."""
        return self.sources.get(name, self.sources.get("*", DEFAULT))

    def with_model_options(self, options: Mapping[str, str], source: str) -> OllamaServerSettings:
        """num_ctx / num_gpu / num_batch from Modelfile PARAMETER lines or request options."""
        values: dict[str, int] = {}
        for key in ("num_ctx", "num_gpu", "num_batch"):
            raw = options.get(key)
            if raw is None:
                continue
            try:
                values[key] = int(float(str(raw).strip().strip("\"'")))
            except ValueError:
                continue
        if not values:
            return self
        return replace(self, **values, sources={**self.sources, **dict.fromkeys(values, source)})  # type: ignore[arg-type]


def env_var(raw: str | None) -> str:
    """envconfig.Var: trimmed of spaces, then of quotes."""
    return (raw or "").strip().strip("\"'")


def _uint(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() else None


def _bool(raw: str) -> bool:
    return raw not in _FALSE  # ParseBool's true words, and (BoolWithDefault) anything it cannot parse


def _fit_target(raw: str) -> int | None:
    """llama.cpp's -fitt: MiB, or one value per device ("1024,2048"); the first is the one used here."""
    first = raw.split(",")[0].strip()
    return _uint(first)


def settings_from_env(env: Mapping[str, str], source: str,
                      base: OllamaServerSettings | None = None) -> OllamaServerSettings:
    """The settings an `ollama serve` with environment `env` runs with; unset keys keep `base`'s."""
    s = base or OllamaServerSettings()
    values: dict[str, object] = {}
    for name, var in FIELD_ENV.items():
        raw = env_var(env.get(var))
        if not raw:
            continue
        value: object
        if name in ("context_length", "num_parallel", "gpu_overhead"):
            value = _uint(raw)
        elif name in ("flash_attention", "sched_spread"):
            value = _bool(raw)
        elif name == "kv_cache_type":
            value = raw.lower()
        elif name == "fit_target_mib":
            value = _fit_target(raw)
        else:
            value = raw.lower() != "off"
        if value is not None:
            values[name] = value
    if not values:
        return s
    return replace(s, **values, sources={**s.sources, **dict.fromkeys(values, source)})  # type: ignore[arg-type]


def env_lines(s: OllamaServerSettings) -> list[tuple[str, str, str]]:
    """(variable, value as Ollama reads it, where it came from) for every server setting, set or not."""
    out = []
    shown: dict[str, Callable[[Any], str]] = {
        "context_length": lambda v: str(v) if v else "0 (by VRAM)",
        "flash_attention": lambda v: "auto" if v is None else ("1" if v else "0"),
        "kv_cache_type": lambda v: v or "f16",
        "fit_target_mib": lambda v: "1024 (llama.cpp)" if v is None else str(v),
        "fit": lambda v: "on" if v else "off",
    }
    for f in fields(s):
        var = FIELD_ENV.get(f.name)
        if var is None:
            continue
        value = getattr(s, f.name)
        plain = str(int(value) if isinstance(value, bool) else value)
        text = shown[f.name](value) if f.name in shown else plain
        out.append((var, text, s.source(f.name)))
    return out
