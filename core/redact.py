"""Secrets never reach the screen or a log: every configured secret is masked in text we show.

A server or proxy that echoes the request's headers in its error page
(`authorization: Bearer sk-...`) would otherwise put a host's token in an
error sentence, a chat bubble, the chat history or a crash log. What is
secret: each host's `token`, every value of each host's `headers` (any of them
may carry a key; the value of an Authorization header also without its
"Bearer " scheme), and the tokens llamadeck or its libraries read from the
environment (HF_TOKEN, OLLAMA_API_KEY, ...).

The known secrets are process-wide, like the environment they partly come
from: the CLI and the app `remember_settings()` at start, and every client
`remember_host()` for the host it talks to (a host built from `--host` has
none, but a test's or a screen's HostConfig may). `redact(text)` is then used
where text leaves llamadeck: error sentences built from a server's answer,
the CLI's stderr, the app's notifications and the crash log.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from typing import TypeVar

from core.config import HostConfig, Settings

MASK = "****"
# Shorter values are not secrets worth the damage of masking them everywhere ("1", "lab").
MIN_SECRET_CHARS = 4
ENV_SECRETS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OLLAMA_API_KEY", "OPENAI_API_KEY")

E = TypeVar("E", bound=BaseException)

_lock = threading.Lock()
_known: set[str] = set()


def host_secrets(host: HostConfig) -> set[str]:
    """A host's token and its header values (an Authorization value also without its scheme)."""
    found: set[str] = set()
    if host.token:
        found.add(host.token)
    for _, value in host.headers:
        found.add(value)
        scheme, space, credential = value.strip().partition(" ")
        if space and scheme.isalpha():  # "Bearer abc", "Basic abc=": the credential alone too
            found.add(credential.strip())
    return {s.strip() for s in found if len(s.strip()) >= MIN_SECRET_CHARS}


def remember_host(host: HostConfig) -> None:
    secrets = host_secrets(host)
    if secrets:
        with _lock:
            _known.update(secrets)


def remember_settings(settings: Settings) -> None:
    for host in settings.hosts:
        remember_host(host)


def forget_all() -> None:
    """For tests: start from no remembered secrets."""
    with _lock:
        _known.clear()


def known_secrets(extra: Iterable[str] = ()) -> list[str]:
    """Every secret to mask now, longest first (so a token inside a longer header value goes with it)."""
    with _lock:
        secrets = set(_known)
    for name in ENV_SECRETS:
        value = (os.environ.get(name) or "").strip()
        if len(value) >= MIN_SECRET_CHARS:
            secrets.add(value)
    secrets.update(s for s in extra if len(s) >= MIN_SECRET_CHARS)
    return sorted(secrets, key=len, reverse=True)


def header_secrets(headers: Mapping[str, str]) -> list[str]:
    """The credentials in HTTP request headers (an Authorization value, without its scheme), to mask."""
    return [v.partition(" ")[2] or v for k, v in headers.items() if k.lower() == "authorization"]


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every known secret replaced by ****."""
    for secret in known_secrets(extra):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_error(err: E) -> E:
    """The same error with secrets masked in its text (message, hint and args), for raising on."""
    args = tuple(redact(a) if isinstance(a, str) else a for a in err.args)
    if args != err.args:
        err.args = args
    for attr in ("message", "hint"):
        value = getattr(err, attr, None)
        if isinstance(value, str):
            setattr(err, attr, redact(value))
    return err
