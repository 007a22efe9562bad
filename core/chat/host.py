"""Which server a saved conversation talks to when it is opened again.

A conversation is saved with its host's name ("local") and the address that
name meant then. Names move: `local` is whatever OLLAMA_HOST says today, and
a config's `[hosts.box]` may be pointed elsewhere. Reopened under another
OLLAMA_HOST, a chat would otherwise go to a different server, whose models
(and answers) are not the ones it was held with, or report its model missing.

The rule: an address the user gives for this run (`--host`) wins; otherwise a
saved chat goes back to the server it was held with. Either way, when the two
differ the caller gets one sentence saying which server is used and why.
Chats saved before the address was kept have none; they use the current host.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.chat.types import SessionInfo
from core.config import HostConfig, Settings
from core.errors import ConfigError
from core.ollama.host import endpoint_for


def server_url(host: HostConfig) -> str:
    """The address a chat with `host` really reaches (OLLAMA_HOST rules applied, loopback made explicit)."""
    if host.kind == "ollama":
        try:
            return endpoint_for(host).connect_url
        except ConfigError:
            return host.url.strip()  # the backend refuses it with its own sentence
    return host.url.strip().rstrip("/")


@dataclass(frozen=True)
class HostChoice:
    """The host to resume a conversation on, and the sentence to show when it is not the current one."""

    host: HostConfig
    notice: str | None = None


def host_for_session(info: SessionInfo, current: HostConfig, settings: Settings, *,
                     explicit: bool = False) -> HostChoice:
    """Where to continue conversation `info`: `current` is the host this run would use.

    `explicit`: the user named `current` for this run (`--host`), so it wins.
    """
    if not info.host_url:
        return HostChoice(current)  # saved before the address was kept: nothing to compare
    now = server_url(current)
    if now == info.host_url:
        return HostChoice(current)
    if explicit:
        return HostChoice(current, f"Conversation {info.id} was held with {info.host_url}; it continues on "
                                   f"{now} as --host asks.")
    saved = next((h for h in settings.hosts if server_url(h) == info.host_url), None)
    if saved is None:
        saved = HostConfig(name=info.host_url, url=info.host_url, kind=info.host_kind or current.kind)
    named = f"'{info.host}' now means {now}" if info.host == current.name else f"this run uses {now}"
    return HostChoice(saved, f"This chat was held with {info.host_url}, so it continues there ({named}).")
