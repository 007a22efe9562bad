from __future__ import annotations

from pathlib import Path

import pytest

from core.config import EXAMPLE_CONFIG, load_settings
from core.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_gives_defaults_and_a_local_host(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "nope.toml")
    assert s.refresh_seconds == 1.0
    host = s.host()
    assert host is not None and host.url == "http://127.0.0.1:11434"


def test_ollama_host_env_is_the_default_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box")
    host = load_settings(tmp_path / "nope.toml").host()
    assert host is not None and host.url == "gpu-box"


def test_example_config_is_valid(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, EXAMPLE_CONFIG))
    assert s.default_host == "local"
    assert s.gguf_dirs == (Path("~/models").expanduser(),)


def test_env_override_points_at_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[ui]\nrefresh_seconds = 2\n")
    monkeypatch.setenv("LLAMADECK_CONFIG", str(path))
    assert load_settings().refresh_seconds == 2.0


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[ui]\nrefresh_secs = 1\n", "ui.refresh_secs"),
        ("[ui]\nrefresh_seconds = 0.1\n", "ui.refresh_seconds"),
        ("[ui]\nrefresh_seconds = 'fast'\n", "ui.refresh_seconds"),
        ("colour = 'red'\n", "colour"),
        ("[hosts.box]\nkind = 'ollama'\n", "hosts.box.url"),
        ("[hosts.box]\nurl = 'http://x'\nkind = 'vllm'\n", "hosts.box.kind"),
        ("default_host = 'nowhere'\n", "default_host"),
        ("[paths]\ngguf_dirs = [1]\n", "paths.gguf_dirs"),
        ("[llamacpp]\nbin = '/x'\n", "llamacpp.bin"),
    ],
)
def test_bad_values_name_the_key_and_the_file(tmp_path: Path, text: str, names: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert f"`{names}`" in str(err.value)
    assert str(path) in str(err.value)


def test_broken_toml_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[ui\n"))


def test_token_never_appears_in_repr(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, "[hosts.a]\nurl='http://x'\ntoken='sekrit'\n"))
    assert "sekrit" not in repr(s)
