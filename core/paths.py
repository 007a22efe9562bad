"""Where llamadeck keeps its files.

Every location can be overridden by an environment variable so tests (and
users with unusual layouts) never touch the real config and data dirs.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "llamadeck"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def config_file() -> Path:
    """The TOML config: LLAMADECK_CONFIG, else the platform config dir."""
    return _env_path("LLAMADECK_CONFIG") or Path(platformdirs.user_config_dir(APP)) / "config.toml"


def data_dir() -> Path:
    """Chat history and job records: LLAMADECK_DATA_DIR, else the platform data dir."""
    return _env_path("LLAMADECK_DATA_DIR") or Path(platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    """Downloads and scratch space: LLAMADECK_CACHE_DIR, else the platform cache dir."""
    return _env_path("LLAMADECK_CACHE_DIR") or Path(platformdirs.user_cache_dir(APP))


def log_dir() -> Path:
    """Crash reports and whole server answers: LLAMADECK_LOG_DIR, else the platform state dir's logs."""
    return _env_path("LLAMADECK_LOG_DIR") or Path(platformdirs.user_state_dir(APP)) / "log"


def ollama_models_dir() -> Path:
    """Ollama's model store, following Ollama's own OLLAMA_MODELS rule."""
    return _env_path("OLLAMA_MODELS") or Path.home() / ".ollama" / "models"


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, following huggingface_hub's own variables."""
    explicit = _env_path("HF_HUB_CACHE")
    if explicit:
        return explicit
    xdg_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    hf_home = _env_path("HF_HOME") or xdg_cache / "huggingface"
    return Path(hf_home) / "hub"
