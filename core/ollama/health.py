"""Diagnoses of an Ollama server that users kept missing: open to the network.

Ollama has no authentication at all, so a server reachable beyond loopback
lets anyone pull, delete and run models. (A model silently on the CPU is
core.planner.cpu_fallback: its causes depend on this machine's GPUs.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import psutil

from core.ollama.host import OllamaEndpoint


def local_listen_addresses(port: int) -> tuple[str, ...]:
    """The addresses something on this machine listens on at `port` ("0.0.0.0:11434", "[::1]:11434").

    Empty when it cannot be read (psutil needs privileges on some systems):
    unknown is not the same as safe, so callers must not read it as "loopback only".
    """
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return ()
    found = []
    for conn in conns:
        if conn.status != psutil.CONN_LISTEN or not conn.laddr or conn.laddr.port != port:
            continue
        ip = conn.laddr.ip
        found.append(f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}")
    return tuple(sorted(set(found)))


def _is_loopback_address(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(endpoint: OllamaEndpoint, *, has_auth: bool,
                     listen_addresses: Sequence[str] = ()) -> str | None:
    """A warning when the server can be used by anyone on the network, else None.

    A remote server reached without a token or header is exposed by definition
    (we reached it). A local one is exposed when it listens on a wildcard or
    public address, whatever the client is configured with: a reverse proxy in
    front does not help if Ollama itself also answers on every interface.
    """
    if not endpoint.is_loopback:
        if not has_auth:
            return (
                f"Ollama at {endpoint.connect_url} answers over the network without authentication: "
                f"anyone who can reach port {endpoint.port} can pull, delete and run models. Bind it to "
                "127.0.0.1, or put it behind a reverse proxy that checks a token."
            )
        if endpoint.scheme == "http":
            return (
                f"The token for {endpoint.connect_url} travels unencrypted over plain http; "
                "use https for a reverse proxy that checks it."
            )
        return None
    exposed = [a for a in listen_addresses if not _is_loopback_address(a)]
    if exposed:
        return (
            f"Ollama listens on {', '.join(exposed)}, beyond loopback, and Ollama has no authentication: "
            "anyone on the network can pull, delete and run models. Start `ollama serve` with "
            "OLLAMA_HOST=127.0.0.1 unless other machines need it."
        )
    return None
