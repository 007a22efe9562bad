"""Where an Ollama server's settings are read from (core.ollama.server_env / server_settings)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from core.config import HostConfig, parse_settings
from core.errors import ConfigError
from core.ollama.server_env import read_server_settings
from core.ollama.server_settings import DEFAULT, OllamaServerSettings, settings_from_env

LOCAL = HostConfig(name="local", url="http://127.0.0.1:11434")


def proc_with(tmp_path: Path, pid: int, argv: list[str], environ: dict[str, str] | None) -> Path:
    d = tmp_path / "proc" / str(pid)
    d.mkdir(parents=True)
    (d / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    if environ is None:
        (d / "environ").mkdir()  # reads fail as they do for another user's process
    else:
        (d / "environ").write_bytes(b"\0".join(f"{k}={v}".encode() for k, v in environ.items()))
    return tmp_path / "proc"


def no_systemd(argv: Sequence[str]) -> str | None:
    return None


def test_env_values_are_read_as_ollama_reads_them() -> None:
    s = settings_from_env({"OLLAMA_CONTEXT_LENGTH": " '8192' ", "OLLAMA_NUM_PARALLEL": "two",
                           "OLLAMA_FLASH_ATTENTION": "", "OLLAMA_KV_CACHE_TYPE": "Q8_0",
                           "OLLAMA_SCHED_SPREAD": "maybe", "LLAMA_ARG_FIT_TARGET": "2048,1024"}, "env")
    assert (s.context_length, s.num_parallel, s.flash_attention) == (8192, 1, None)  # bad uint: default
    assert (s.kv_cache_type, s.sched_spread, s.fit_target_mib) == ("q8_0", True, 2048)  # junk bool: true
    assert s.source("context_length") == "env" and s.source("num_parallel") == DEFAULT


def test_the_running_servers_environment_wins(tmp_path: Path) -> None:
    proc = proc_with(tmp_path, 4242, ["/usr/bin/ollama", "serve"], {"OLLAMA_NUM_PARALLEL": "2", "HOME": "/x"})
    proc_with(tmp_path, 7, ["/bin/bash"], {})
    host = HostConfig(name="local", url="http://127.0.0.1:11434", server=(("OLLAMA_NUM_PARALLEL", "8"),))
    s = read_server_settings(host, proc=proc, run=no_systemd)
    assert s.num_parallel == 2 and "pid 4242" in s.source("num_parallel")
    assert s.context_length == 0 and "not set for ollama serve" in s.source("context_length")


def test_an_unreadable_server_falls_back_to_systemd(tmp_path: Path) -> None:
    proc = proc_with(tmp_path, 99, ["/usr/local/bin/ollama", "serve"], None)

    def systemctl(argv: Sequence[str]) -> str:
        assert argv[:3] == ["systemctl", "show", "ollama"]
        return ('LoadState=loaded\nEnvironment="OLLAMA_HOST=0.0.0.0" OLLAMA_KV_CACHE_TYPE=q4_0 '
                "OLLAMA_FLASH_ATTENTION=1\nEnvironmentFiles=/etc/ollama.env (ignore_errors=no)\n")

    s = read_server_settings(LOCAL, proc=proc, run=systemctl)
    assert (s.kv_cache_type, s.flash_attention) == ("q4_0", True)
    assert "ollama.service" in s.source("kv_cache_type")
    assert "EnvironmentFile= is not read" in s.source("num_parallel")


def test_nothing_readable_says_why_values_are_defaults(tmp_path: Path) -> None:
    proc = proc_with(tmp_path, 99, ["ollama", "serve"], None)
    s = read_server_settings(LOCAL, proc=proc, run=no_systemd)
    assert s == OllamaServerSettings() and "runs as another user" in s.source("num_parallel")


def test_a_remote_host_uses_the_config(tmp_path: Path) -> None:
    raw = {"hosts": {"box": {"url": "http://10.0.0.5:11434",
                             "server": {"OLLAMA_CONTEXT_LENGTH": 16384, "OLLAMA_FLASH_ATTENTION": True}}}}
    host = parse_settings(raw, tmp_path / "c.toml").hosts[0]
    s = read_server_settings(host, proc=tmp_path / "nothing", run=no_systemd)
    assert (s.context_length, s.flash_attention) == (16384, True)
    assert "[hosts.box.server]" in s.source("context_length")
    assert "[hosts.box.server]" in s.source("num_parallel")  # says where a remote value could be given


def test_the_config_refuses_unknown_server_keys(tmp_path: Path) -> None:
    raw = {"hosts": {"box": {"url": "http://h:1", "server": {"OLLAMA_NUM_PARALEL": 2}}}}
    with pytest.raises(ConfigError, match=r"hosts\.box\.server\.OLLAMA_NUM_PARALEL"):
        parse_settings(raw, tmp_path / "c.toml")
