"""The one host the whole app talks to: switched from any screen (`o`, F2, the palette), on every top line.

The app keeps it (`LlamadeckApp.current_host`, a reactive); each screen that
talks to a server watches it through `watch_host` and follows: the chat starts
a fresh view on the new server, the planner lists that server's Ollama models,
the model browser connects to it. A hand-off to a model on another host
(Models -> Chat) switches the app's host too, so no screen is left on the old one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.dom import DOMNode

from core.config import HostConfig, Settings
from core.ollama.host import select_host


def app_hosts(settings: Settings) -> tuple[HostConfig, ...]:
    """Every configured host, the default first; OLLAMA_HOST (or the local server) without a config."""
    hosts = tuple(settings.hosts)
    if not hosts:
        return (select_host(settings),)
    default = settings.host()
    if default is not None and default in hosts:
        hosts = (default, *(h for h in hosts if h is not default))
    return hosts


def next_host(hosts: tuple[HostConfig, ...], current: HostConfig | None) -> HostConfig:
    """The host after `current` in `hosts` (the first when `current` is not among them)."""
    names = [h.name for h in hosts]
    if current is None or current.name not in names:
        return hosts[0]
    return hosts[(names.index(current.name) + 1) % len(hosts)]


def host_label(host: HostConfig) -> str:
    """How a top line names the host: its name, with the kind when it is not Ollama."""
    return host.name if host.kind == "ollama" else f"{host.name} ({host.kind})"


def current_host(node: DOMNode) -> HostConfig | None:
    """The app's current host, or None in an app that has none (a test's bare App)."""
    host = getattr(node.app, "current_host", None)
    return host if isinstance(host, HostConfig) else None


def ollama_name(node: DOMNode, fallback: str | None = None) -> str | None:
    """The name of the app's host when it is an Ollama server (what `ollama:` names mean), else `fallback`."""
    host = current_host(node)
    return host.name if host is not None and host.kind == "ollama" else fallback


def set_current_host(node: DOMNode, host: HostConfig) -> None:
    """Make `host` the app's host (every screen follows), unless it already is."""
    app = node.app
    if hasattr(app, "current_host") and app.current_host != host:
        app.current_host = host


def watch_host(node: DOMNode, callback: Callable[[HostConfig], Any], *, init: bool = True) -> None:
    """Call `callback` with the app's host now (with `init`) and whenever it changes."""
    app = node.app
    if hasattr(app, "current_host"):

        def changed(host: HostConfig | None) -> None:
            if host is not None:
                callback(host)

        node.watch(app, "current_host", changed, init=init)


def switch_sentence(settings: Settings, current: HostConfig | None) -> tuple[HostConfig | None, str]:
    """The host `o` switches to (None when there is no other) and the sentence that says so."""
    hosts = app_hosts(settings)
    if len(hosts) < 2:
        only = hosts[0].name
        return None, (f"Only one host ({only}) is configured; add [hosts.NAME] tables to the config "
                      "to switch between servers.")
    host = next_host(hosts, current)
    return host, f"Now talking to {host_label(host)} ({host.url}) on every screen."
