"""Where an Ollama server is: OLLAMA_HOST rules, named hosts from the config, `--host`.

`parse_ollama_host` mirrors `envconfig.Host()` in Ollama's Go source, so a value
means here what it means to `ollama` itself: a bare host gets port 11434, a
scheme without a port gets 80 (http) or 443 (https), `:port` alone keeps the
default host, surrounding quotes and spaces are dropped, a path prefix (for a
reverse proxy) is kept, and a bad port falls back to the default. The address
a client connects to then follows `envconfig.ConnectableHost()`: an unspecified
bind address (0.0.0.0, ::, or no host at all) means this machine's loopback.

Where llamadeck is about to connect (`endpoint_for`) it is stricter than
Ollama: a port that Ollama would silently replace with 11434, or a host that
is not a host name or an IP address, is refused with a sentence naming where
the value came from (OLLAMA_HOST, --host, the config), so a typo never talks
to some other server without a word.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from core.config import HostConfig, Settings
from core.errors import ConfigError

DEFAULT_PORT = 11434


@dataclass(frozen=True)
class OllamaEndpoint:
    """A parsed OLLAMA_HOST-style address.

    `host` is as Ollama's Host() leaves it: no brackets around IPv6, "" for a
    value like ":1234" (which `ollama serve` binds on every interface).
    """

    scheme: str
    host: str
    port: int
    path: str = ""  # without the leading slash; "" when there is none
    # The port text Ollama rejected (and replaced with the default), e.g. "99999"; None when there was none.
    bad_port: str | None = field(default=None, compare=False)

    @property
    def url(self) -> str:
        """The address as `ollama` prints it (Host().String())."""
        return _url(self.scheme, self.host, self.port, self.path)

    @property
    def connect_host(self) -> str:
        """The host a client connects to: unspecified bind addresses become loopback."""
        ip = _ip(self.host)
        if self.host == "" or (ip is not None and ip.version == 4 and ip.is_unspecified):
            return "127.0.0.1"
        if ip is not None and ip.is_unspecified:
            return "::1"
        return self.host

    @property
    def connect_url(self) -> str:
        """What the client talks to; the official client parses it back to the same URL."""
        return _url(self.scheme, self.connect_host, self.port, self.path.strip("/"))

    @property
    def is_loopback(self) -> bool:
        """True when the server is this machine, reached without leaving it."""
        host = self.connect_host
        if host.lower() == "localhost" or host.lower().endswith(".localhost"):
            return True
        ip = _ip(host)
        return ip is not None and ip.is_loopback

    @property
    def binds_all_interfaces(self) -> bool:
        """Would `ollama serve` with this OLLAMA_HOST listen on every interface?"""
        ip = _ip(self.host)
        return self.host == "" or (ip is not None and ip.is_unspecified)


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if "%" in host:  # Go's ParseIP has no zone support
        return None
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _url(scheme: str, host: str, port: int, path: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}" + (f"/{path}" if path else "")


def _split_host_port(hostport: str) -> tuple[str, str] | None:
    """Go's net.SplitHostPort: None where it returns an error (e.g. no port at all)."""
    i = hostport.rfind(":")
    if i < 0:
        return None
    j = k = 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0 or end + 1 != i:
            return None  # missing ']', no port after it, or junk between ']' and ':'
        host = hostport[1:end]
        j, k = 1, end + 1
    else:
        host = hostport[:i]
        if ":" in host:
            return None  # too many colons: an IPv6 address without brackets
    if "[" in hostport[j:] or "]" in hostport[k:]:
        return None
    return host, hostport[i + 1:]


def _canonical_ip(text: str) -> str | None:
    """Go's net.ParseIP(text).String(): canonical form, IPv4-mapped IPv6 shown as IPv4."""
    ip = _ip(text)
    if ip is None:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def _port(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 10, 32) followed by Ollama's 0..65535 check."""
    body = text[1:] if text[:1] in "+-" else text
    if not body.isascii() or not body.isdigit():
        return None
    value = int(text)
    return value if 0 <= value <= 65535 else None


def parse_ollama_host(value: str | None) -> OllamaEndpoint:
    """Resolve an OLLAMA_HOST value exactly as Ollama does (envconfig.Host)."""
    text = (value or "").strip().strip("\"'").strip()
    default_port = DEFAULT_PORT
    scheme, sep, hostport = text.partition("://")
    if not sep:
        scheme, hostport = "http", text
        if text == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    elif scheme == "http":
        default_port = 80
    elif scheme == "https":
        default_port = 443
    hostport, _, path = hostport.partition("/")
    split = _split_host_port(hostport)
    if split is None:
        host, port_text = "127.0.0.1", str(default_port)
        canonical = _canonical_ip(hostport.strip("[]"))
        if canonical is not None:
            host = canonical
        elif hostport:
            host = hostport
    else:
        host, port_text = split
    port = _port(port_text)
    return OllamaEndpoint(scheme=scheme, host=host, port=default_port if port is None else port, path=path,
                          bad_port=port_text if port is None and port_text else None)


_HOST_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})")
_SHOWN_MAX = 60


def shown_value(text: str) -> str:
    """A value the user gave, quoted and cut short, control characters escaped (random bytes stay inert)."""
    shown = repr(text)
    return shown if len(shown) <= _SHOWN_MAX else shown[: _SHOWN_MAX - 4] + "...'"


def _where(host: HostConfig) -> str:
    """Where a host's address came from, for the start of a sentence."""
    if host.origin == "OLLAMA_HOST":
        return f"OLLAMA_HOST={shown_value(host.url)}"
    if host.origin == "--host":
        return f"--host {shown_value(host.url)}"
    return f"Host '{host.name}' (url {shown_value(host.url)})"


def _fix(host: HostConfig) -> str:
    if host.origin == "OLLAMA_HOST":
        return "fix or unset OLLAMA_HOST"
    if host.origin == "--host":
        return "pass an address such as 127.0.0.1:11434"
    return f"fix `url` in [hosts.{host.name}] of the config"


def _is_host(host: str) -> bool:
    """A host name or an IP address a client can connect to ("" is this machine, as in ":1234")."""
    if host == "" or _ip(host) is not None:
        return True
    address, percent, zone = host.partition("%")
    if percent and _ip(address) is not None and zone.isascii() and zone.replace("-", "").isalnum():
        return True  # an IPv6 address with a zone, fe80::1%eth0
    if host.isascii():
        return _HOST_NAME.fullmatch(host) is not None
    try:
        host.encode("idna")  # an internationalised name; httpx checks the finer IDNA 2008 rules below
    except UnicodeError:
        return False
    return True


def _has_credentials(text: str) -> bool:
    """user:password@host - one @ with a usable address after it."""
    before, at, after = text.rpartition("@")
    if not at or "@" in before or not before:
        return False
    endpoint = parse_ollama_host(after)
    return _is_host(endpoint.host)


def endpoint_for(host: HostConfig) -> OllamaEndpoint:
    """The endpoint of a configured host, refusing what would leak or cannot work."""
    endpoint = parse_ollama_host(host.url)
    if "@" in endpoint.host and _has_credentials(endpoint.host):
        raise ConfigError(
            f"Host '{host.name}' has credentials in its URL; put them in `token` or `headers` "
            "instead, where they are sent as headers and never shown."
        )
    if endpoint.scheme not in ("http", "https"):
        raise ConfigError(
            f"{_where(host)} uses the scheme {shown_value(endpoint.scheme)}; Ollama is reached over http or "
            f"https; {_fix(host)}."
        )
    if endpoint.bad_port is not None:
        raise ConfigError(
            f"{_where(host)} has the port {shown_value(endpoint.bad_port)}, which is not a number from 0 to "
            f"65535 (Ollama itself would quietly use port {endpoint.port} instead); {_fix(host)}."
        )
    if not _is_host(endpoint.host) or not _connectable(endpoint):
        raise ConfigError(
            f"{_where(host)} is not a host name or IP address llamadeck can connect to; {_fix(host)}."
        )
    return endpoint


def _connectable(endpoint: OllamaEndpoint) -> bool:
    """Does httpx take the URL as it is (IDNA 2008 names, printable path)?"""
    import httpx  # here: the planner and the dashboard use this module without any HTTP

    try:
        url = httpx.URL(endpoint.connect_url)
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return False
    return url.port in (endpoint.port, None)


def select_host(settings: Settings, name_or_url: str | None = None) -> HostConfig:
    """`--host`: a configured host's name, else an address read with the OLLAMA_HOST rules.

    With nothing given, the default host (which is OLLAMA_HOST, or the local
    server, when the config names none).
    """
    if name_or_url is None or not name_or_url.strip():
        chosen = settings.host()
        if chosen is None:
            return HostConfig(name="local", url=f"http://127.0.0.1:{DEFAULT_PORT}")
        return chosen
    wanted = name_or_url.strip()
    for host in settings.hosts:
        if host.name == wanted:
            return host
    return HostConfig(name=parse_ollama_host(wanted).url, url=wanted, origin="--host")
