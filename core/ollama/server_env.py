"""Where the settings of an `ollama serve` can be read, since its API does not say them.

In order, for a server on this machine: the environment of the running
`ollama serve` process (/proc/PID/environ, readable when it runs as the same
user, or as root), then its systemd unit (`systemctl show ollama -p
Environment`: the unit's Environment= lines; an EnvironmentFile= is not
expanded, and that is said). What is read there is what the server runs
with, so it wins over the config. For any host, `[hosts.NAME.server]` in
llamadeck's config fills in what nothing else could read (a remote server).
Everything else is Ollama's default, and each value says where it came from.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from core.config import HostConfig
from core.errors import ConfigError
from core.ollama.host import endpoint_for
from core.ollama.server_settings import DEFAULT, OllamaServerSettings, settings_from_env

Runner = Callable[[Sequence[str]], str | None]
SYSTEMCTL_TIMEOUT_S = 3.0


def run_quietly(argv: Sequence[str]) -> str | None:
    """stdout of a short command, or None when it is missing, fails or hangs."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_S,
                              check=False, start_new_session=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _serve_pids(proc: Path) -> Iterator[int]:
    """Processes running `ollama serve` (argv[0] named ollama, `serve` among its arguments)."""
    try:
        entries = list(proc.iterdir())
    except OSError:
        return
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and Path(argv[0].decode(errors="replace")).name == "ollama" and b"serve" in argv[1:]:
            yield int(entry.name)


def _environ(proc: Path, pid: int) -> dict[str, str]:
    raw = (proc / str(pid) / "environ").read_bytes()
    out = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.decode(errors="replace").partition("=")
        if sep:
            out[key] = value
    return out


def _systemd_env(run: Runner) -> tuple[dict[str, str], bool] | None:
    """The ollama unit's Environment= (and whether it also names an EnvironmentFile=), if it is loaded."""
    out = run(["systemctl", "show", "ollama", "-p", "LoadState", "-p", "Environment",
               "-p", "EnvironmentFiles"])
    if not out:
        return None
    props = dict(line.partition("=")[::2] for line in out.splitlines() if "=" in line)
    if props.get("LoadState") != "loaded":
        return None
    env = {}
    try:
        words = shlex.split(props.get("Environment", ""))
    except ValueError:
        words = props.get("Environment", "").split()
    for word in words:
        key, sep, value = word.partition("=")
        if sep:
            env[key] = value
    return env, bool(props.get("EnvironmentFiles", "").strip())


def _is_local(host: HostConfig) -> bool:
    try:
        return endpoint_for(host).is_loopback
    except ConfigError:
        return False


def read_server_settings(host: HostConfig, *, proc: Path = Path("/proc"),
                         run: Runner = run_quietly) -> OllamaServerSettings:
    """The settings `host`'s `ollama serve` loads models with, each with where it came from. Blocking."""
    name = f"[hosts.{host.name}.server] in llamadeck's config"
    from_config = settings_from_env(dict(host.server), name)
    if not _is_local(host):
        why = f"{DEFAULT} (a remote server's settings can be given in [hosts.{host.name}.server])"
        return replace(from_config, sources={"*": why, **from_config.sources})
    unreadable: list[int] = []
    for pid in _serve_pids(proc):
        try:
            env = _environ(proc, pid)
        except OSError:
            unreadable.append(pid)
            continue
        read = settings_from_env(env, f"the environment of ollama serve (pid {pid})")
        unset = f"{DEFAULT} (not set for ollama serve, pid {pid})"
        return replace(read, sources={"*": unset, **read.sources})
    unit = _systemd_env(run)
    if unit is not None:
        env, has_file = unit
        where = "the systemd unit ollama.service (Environment=)"
        read = settings_from_env(env, where, base=from_config)
        fallback = f"{DEFAULT} (not set in ollama.service"
        fallback += "; its EnvironmentFile= is not read)" if has_file else ")"
        return replace(read, sources={"*": fallback, **read.sources})
    if unreadable:
        why = (f"{DEFAULT} (ollama serve, pid {unreadable[0]}, runs as another user: its environment "
               "is not readable)")
    else:
        why = f"{DEFAULT} (no ollama serve process or systemd unit found)"
    return replace(from_config, sources={"*": why, **from_config.sources})
