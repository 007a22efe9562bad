"""Shared fixtures. Every test runs isolated from the user's real config and data."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.redact import forget_all
from tests.support.llamacpp import FORBID_ENV

# The fake Ollama server's `fake_ollama` fixture, for every test folder.
pytest_plugins = ["tests.fakes.fake_ollama"]


@pytest.fixture(autouse=True)
def _isolate_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("LLAMADECK_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("LLAMADECK_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("LLAMADECK_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("LLAMADECK_LOG_DIR", str(home / "log"))
    monkeypatch.setenv("OLLAMA_MODELS", str(home / "ollama-models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hf-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("NO_COLOR", "")
    monkeypatch.delenv("NO_COLOR")
    forget_all()  # secrets a previous test's hosts had are not masked in this one's text


@pytest.fixture(autouse=True)
def _llamacpp_only_in_e2e(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test not marked e2e must pass on a machine with no llama.cpp source or build."""
    if request.node.get_closest_marker("e2e") is None:
        monkeypatch.setenv(FORBID_ENV, "1")
    else:
        monkeypatch.delenv(FORBID_ENV, raising=False)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
