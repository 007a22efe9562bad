"""Settings from a TOML file, validated with errors that name the key and file.

The file is optional: a missing file means defaults. Unknown keys are an error
(a typo like `refresh_secs` must not be silently ignored), and so is a value of
the wrong type or out of range.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core import paths
from core.errors import ConfigError

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"


@dataclass(frozen=True)
class HostConfig:
    """One server llamadeck can talk to."""

    name: str
    url: str
    kind: str = "ollama"  # "ollama" or "openai" (llama-server, vLLM)
    headers: tuple[tuple[str, str], ...] = ()
    token: str | None = None
    verify_tls: bool = True
    # The server's own settings where llamadeck cannot read them (a remote host): Ollama's
    # environment variable names and values, `[hosts.NAME.server]`; see core.ollama.server_env.
    server: tuple[tuple[str, str], ...] = ()
    # Where `url` came from, for messages about it: "OLLAMA_HOST", "--host", or "" (the config file).
    origin: str = field(default="", compare=False)

    def __repr__(self) -> str:  # secrets never end up in logs or tracebacks
        return f"HostConfig(name={self.name!r}, url={self.url!r}, kind={self.kind!r})"


@dataclass(frozen=True)
class LlamaCppConfig:
    bin_dir: Path | None = None
    convert_script: Path | None = None
    convert_python: Path | None = None


@dataclass(frozen=True)
class Settings:
    path: Path | None = None
    refresh_seconds: float = 1.0
    theme: str = "textual-dark"
    gguf_dirs: tuple[Path, ...] = ()
    ollama_models_dir: Path = field(default_factory=paths.ollama_models_dir)
    hf_cache_dir: Path = field(default_factory=paths.hf_cache_dir)
    hosts: tuple[HostConfig, ...] = ()
    default_host: str | None = None
    llamacpp: LlamaCppConfig = field(default_factory=LlamaCppConfig)

    def host(self, name: str | None = None) -> HostConfig | None:
        wanted = name or self.default_host
        for host in self.hosts:
            if host.name == wanted:
                return host
        return self.hosts[0] if self.hosts and wanted is None else None


_SCHEMA: dict[str, set[str]] = {
    "": {"ui", "paths", "hosts", "default_host", "llamacpp"},
    "ui": {"refresh_seconds", "theme"},
    "paths": {"gguf_dirs", "ollama_models_dir", "hf_cache_dir"},
    "host": {"url", "kind", "headers", "token", "verify_tls", "server"},
    "llamacpp": {"bin_dir", "convert_script", "convert_python"},
}


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"Config {self.path}: `{key}` {problem}.")

    def table(self, data: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, "must be a table")
        for k in data:
            if k not in allowed:
                full = f"{key}.{k}" if key else k
                raise self.fail(full, f"is not a known setting (known: {', '.join(sorted(allowed))})")
        return data

    def typed(self, data: dict[str, Any], key: str, full: str, kind: type | tuple[type, ...]) -> Any:
        value = data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(full, f"must be a {want}, not {value!r}")
        return value

    def as_path(self, data: dict[str, Any], key: str, full: str) -> Path:
        return Path(self.typed(data, key, full, str)).expanduser()


def load_settings(path: Path | None = None) -> Settings:
    """Read and validate the config; a missing file gives the defaults."""
    path = path or paths.config_file()
    if not path.exists():
        return _with_default_host(Settings(path=None))
    import tomllib  # here, not at the top: its parser costs start-up time and most runs have no file

    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config {path} is not valid TOML: {exc}. Fix the line it names.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config {path} could not be read: {exc}.") from exc
    return _with_default_host(parse_settings(raw, path))


def parse_settings(raw: dict[str, Any], path: Path) -> Settings:
    r = _Reader(path)
    top = r.table(raw, "", _SCHEMA[""])
    kwargs: dict[str, Any] = {"path": path}

    ui = r.table(top.get("ui", {}), "ui", _SCHEMA["ui"])
    if "refresh_seconds" in ui:
        value = r.typed(ui, "refresh_seconds", "ui.refresh_seconds", float)
        if not 0.25 <= value <= 10:
            raise r.fail("ui.refresh_seconds", f"must be between 0.25 and 10 seconds, not {value}")
        kwargs["refresh_seconds"] = value
    if "theme" in ui:
        kwargs["theme"] = r.typed(ui, "theme", "ui.theme", str)

    p = r.table(top.get("paths", {}), "paths", _SCHEMA["paths"])
    if "gguf_dirs" in p:
        dirs = r.typed(p, "gguf_dirs", "paths.gguf_dirs", list)
        for d in dirs:
            if not isinstance(d, str):
                raise r.fail("paths.gguf_dirs", f"must list folder names as strings, not {d!r}")
        kwargs["gguf_dirs"] = tuple(Path(d).expanduser() for d in dirs)
    for key in ("ollama_models_dir", "hf_cache_dir"):
        if key in p:
            kwargs[key] = r.as_path(p, key, f"paths.{key}")

    hosts_raw = r.typed(top, "hosts", "hosts", dict) if "hosts" in top else {}
    hosts = [_host(r, name, h) for name, h in hosts_raw.items()]
    kwargs["hosts"] = tuple(hosts)
    if "default_host" in top:
        default = r.typed(top, "default_host", "default_host", str)
        if default not in {h.name for h in hosts}:
            raise r.fail("default_host", f"names {default!r}, which is not one of the [hosts.*] tables")
        kwargs["default_host"] = default

    lc = r.table(top.get("llamacpp", {}), "llamacpp", _SCHEMA["llamacpp"])
    kwargs["llamacpp"] = LlamaCppConfig(
        **{k: r.as_path(lc, k, f"llamacpp.{k}") for k in _SCHEMA["llamacpp"] if k in lc}
    )
    return Settings(**kwargs)


def _host(r: _Reader, name: str, raw: Any) -> HostConfig:
    full = f"hosts.{name}"
    h = r.table(raw, full, _SCHEMA["host"])
    if "url" not in h:
        raise r.fail(f"{full}.url", "is required (for example \"http://127.0.0.1:11434\")")
    kind = r.typed(h, "kind", f"{full}.kind", str) if "kind" in h else "ollama"
    if kind not in ("ollama", "openai"):
        raise r.fail(f"{full}.kind", f"must be \"ollama\" or \"openai\", not {kind!r}")
    headers = r.typed(h, "headers", f"{full}.headers", dict) if "headers" in h else {}
    for hk, hv in headers.items():
        if not isinstance(hv, str):
            raise r.fail(f"{full}.headers.{hk}", "must be a string")
        if not _HEADER_NAME.fullmatch(hk):
            raise r.fail(f"{full}.headers", f"names a header {hk!r}, which HTTP does not allow "
                         "(letters, digits and - only)")
        if not _sendable(hv):
            raise r.fail(f"{full}.headers.{hk}", _UNSENDABLE)
    if "token" in h and not _sendable(str(h["token"])):
        raise r.fail(f"{full}.token", _UNSENDABLE)
    return HostConfig(
        name=name,
        url=r.typed(h, "url", f"{full}.url", str),
        kind=kind,
        headers=tuple(sorted(headers.items())),
        token=r.typed(h, "token", f"{full}.token", str) if "token" in h else None,
        verify_tls=r.typed(h, "verify_tls", f"{full}.verify_tls", bool) if "verify_tls" in h else True,
        server=_server(r, full, h),
    )


# The `ollama serve` settings a [hosts.NAME.server] table may give (core.ollama.server_settings reads them).
SERVER_KEYS = ("OLLAMA_CONTEXT_LENGTH", "OLLAMA_NUM_PARALLEL", "OLLAMA_FLASH_ATTENTION",
               "OLLAMA_KV_CACHE_TYPE", "OLLAMA_GPU_OVERHEAD", "OLLAMA_SCHED_SPREAD", "LLAMA_ARG_FIT_TARGET",
               "LLAMA_ARG_FIT")


def _server(r: _Reader, full: str, h: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    if "server" not in h:
        return ()
    table = r.table(h["server"], f"{full}.server", set(SERVER_KEYS))
    out = []
    for key, value in table.items():
        if isinstance(value, bool):
            value = "1" if value else "0"
        if not isinstance(value, str | int):
            raise r.fail(f"{full}.server.{key}", f"must be a string or a number, not {value!r}")
        out.append((key, str(value)))
    return tuple(sorted(out))


_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
# Not quoted back: a header value or token is a secret.
_UNSENDABLE = "must be printable ASCII on one line (an HTTP header cannot carry anything else)"


def _sendable(value: str) -> bool:
    """Can httpx send it as a header value? (It encodes values as ASCII and refuses line breaks.)"""
    return value.isascii() and value.isprintable()


def _with_default_host(settings: Settings) -> Settings:
    """Without configured hosts, talk to OLLAMA_HOST (or the local default) like `ollama` does."""
    if settings.hosts:
        return settings
    url = os.environ.get("OLLAMA_HOST", "").strip() or DEFAULT_OLLAMA_URL
    origin = "OLLAMA_HOST" if os.environ.get("OLLAMA_HOST", "").strip() else ""
    return replace(settings, hosts=(HostConfig(name="local", url=url, origin=origin),), default_host="local")


EXAMPLE_CONFIG = """\
# llamadeck config (TOML). Every key is optional.
default_host = "local"       # which [hosts.*] table the app talks to first

[ui]
refresh_seconds = 1.0        # dashboard sampling, 0.25-10
theme = "textual-dark"

[paths]
gguf_dirs = ["~/models"]     # folders scanned for .gguf files
# ollama_models_dir = "~/.ollama/models"
# hf_cache_dir = "~/.cache/huggingface/hub"

[hosts.local]
url = "http://127.0.0.1:11434"
kind = "ollama"              # or "openai" for llama-server / vLLM

# [hosts.gpu-box]
# url = "https://ollama.example.lan"
# token = "..."              # sent as a bearer token, never shown or logged
# headers = { "X-Team" = "lab" }
# verify_tls = true
# [hosts.gpu-box.server]     # that server's settings, which its API does not report (for `ps --predict`)
# OLLAMA_CONTEXT_LENGTH = 8192
# OLLAMA_NUM_PARALLEL = 1
# OLLAMA_KV_CACHE_TYPE = "q8_0"

[llamacpp]
# bin_dir = "~/llama.cpp/build/bin"
# convert_script = "~/llama.cpp/convert_hf_to_gguf.py"
# convert_python = "~/llama.cpp/.venv/bin/python"
"""
