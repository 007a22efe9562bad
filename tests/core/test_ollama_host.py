"""OLLAMA_HOST resolution, checked against the tables in Ollama's own tests.

The rows of `GO_HOST` are envconfig/config_test.go TestHost; `GO_CONNECTABLE`
is TestConnectableHost. If llamadeck read a value differently from `ollama`,
the user's `OLLAMA_HOST` would point the two at different servers.
"""

from __future__ import annotations

import pytest
from ollama._client import _parse_host

from core.config import HostConfig, Settings
from core.errors import ConfigError
from core.ollama.host import OllamaEndpoint, endpoint_for, parse_ollama_host, select_host

GO_HOST = [
    ("", "http://127.0.0.1:11434"),
    ("1.2.3.4", "http://1.2.3.4:11434"),
    (":1234", "http://:1234"),
    ("1.2.3.4:1234", "http://1.2.3.4:1234"),
    ("example.com", "http://example.com:11434"),
    ("example.com:1234", "http://example.com:1234"),
    (":0", "http://:0"),
    (":66000", "http://:11434"),
    (":-1", "http://:11434"),
    ("[::1]", "http://[::1]:11434"),
    ("[::]", "http://[::]:11434"),
    ("::1", "http://[::1]:11434"),
    ("[::1]:1337", "http://[::1]:1337"),
    (" 1.2.3.4 ", "http://1.2.3.4:11434"),
    ('"1.2.3.4"', "http://1.2.3.4:11434"),
    (' " 1.2.3.4 " ', "http://1.2.3.4:11434"),
    ("'1.2.3.4'", "http://1.2.3.4:11434"),
    ("http://1.2.3.4", "http://1.2.3.4:80"),
    ("http://1.2.3.4:4321", "http://1.2.3.4:4321"),
    ("https://1.2.3.4", "https://1.2.3.4:443"),
    ("https://1.2.3.4:4321", "https://1.2.3.4:4321"),
    ("https://example.com/ollama", "https://example.com:443/ollama"),
    ("ollama.com", "https://ollama.com:443"),
]

GO_CONNECTABLE = [
    ("", "http://127.0.0.1:11434"),
    ("127.0.0.1", "http://127.0.0.1:11434"),
    ("127.0.0.1:1234", "http://127.0.0.1:1234"),
    ("0.0.0.0", "http://127.0.0.1:11434"),
    ("0.0.0.0:1234", "http://127.0.0.1:1234"),
    ("[::]", "http://[::1]:11434"),
    ("[::]:1234", "http://[::1]:1234"),
    ("[::1]", "http://[::1]:11434"),
    ("[::1]:1234", "http://[::1]:1234"),
    ("192.168.1.5", "http://192.168.1.5:11434"),
    ("192.168.1.5:8080", "http://192.168.1.5:8080"),
    ("example.com", "http://example.com:11434"),
    ("example.com:1234", "http://example.com:1234"),
    ("https://0.0.0.0:4321", "https://127.0.0.1:4321"),
]

# Beyond Ollama's tables: what users actually type.
MORE = [
    (None, "http://127.0.0.1:11434", "http://127.0.0.1:11434"),
    ("gpu-box", "http://gpu-box:11434", "http://gpu-box:11434"),
    ("http://gpu-box", "http://gpu-box:80", "http://gpu-box:80"),
    ("https://gpu-box", "https://gpu-box:443", "https://gpu-box:443"),
    ("http://gpu-box:8080/", "http://gpu-box:8080", "http://gpu-box:8080"),
    ("https://proxy.lan/a/ollama/", "https://proxy.lan:443/a/ollama/", "https://proxy.lan:443/a/ollama"),
    (":1234", "http://:1234", "http://127.0.0.1:1234"),  # no host: `ollama serve` binds everywhere
    ("1.2.3.4:", "http://1.2.3.4:11434", "http://1.2.3.4:11434"),  # empty port: the default
    ("http://[fe80::1]:99", "http://[fe80::1]:99", "http://[fe80::1]:99"),
    ("[0001:002:003:0004::1]", "http://[1:2:3:4::1]:11434", "http://[1:2:3:4::1]:11434"),  # canonical IPv6
    ("::ffff:10.0.0.1", "http://10.0.0.1:11434", "http://10.0.0.1:11434"),  # as Go prints mapped IPv4
    ("localhost:11435", "http://localhost:11435", "http://localhost:11435"),
]


@pytest.mark.parametrize(("value", "expected"), GO_HOST)
def test_host_like_ollama(value: str, expected: str) -> None:
    assert parse_ollama_host(value).url == expected


@pytest.mark.parametrize(("value", "expected"), GO_CONNECTABLE)
def test_connectable_host_like_ollama(value: str, expected: str) -> None:
    assert parse_ollama_host(value).connect_url == expected


@pytest.mark.parametrize(("value", "url", "connect"), MORE)
def test_more_host_values(value: str | None, url: str, connect: str) -> None:
    endpoint = parse_ollama_host(value)
    assert (endpoint.url, endpoint.connect_url) == (url, connect)


@pytest.mark.parametrize("value", [v for v, _ in GO_CONNECTABLE] + ["https://proxy.lan/ollama/", "[::1]:99"])
def test_the_official_client_reads_our_url_back_unchanged(value: str) -> None:
    """We hand the client a resolved URL; its own parser must not move it anywhere else."""
    url = parse_ollama_host(value).connect_url
    assert _parse_host(url) == url


@pytest.mark.parametrize(("value", "loopback", "everywhere"), [
    ("", True, False), ("127.0.0.1", True, False), ("127.1.2.3:5", True, False), ("[::1]", True, False),
    ("localhost", True, False), ("0.0.0.0", True, True), ("[::]:1", True, True), (":11434", True, True),
    ("192.168.1.5", False, False), ("gpu-box", False, False), ("https://ollama.example.lan", False, False),
])
def test_loopback_and_bind_all(value: str, loopback: bool, everywhere: bool) -> None:
    endpoint = parse_ollama_host(value)
    assert (endpoint.is_loopback, endpoint.binds_all_interfaces) == (loopback, everywhere)


def test_endpoint_fields() -> None:
    expected = OllamaEndpoint("https", "example.com", 8443, "ollama")
    assert parse_ollama_host("https://example.com:8443/ollama") == expected


def test_credentials_in_a_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as err:
        endpoint_for(HostConfig(name="box", url="http://admin:hunter2@box:11434"))
    assert "hunter2" not in str(err.value)
    assert "token" in str(err.value)


def test_other_schemes_are_refused() -> None:
    with pytest.raises(ConfigError, match="http or https"):
        endpoint_for(HostConfig(name="box", url="ftp://box"))


def test_select_host_by_name_or_address() -> None:
    gpu = HostConfig(name="gpu", url="http://gpu-box:11434", token="t")
    settings = Settings(hosts=(HostConfig(name="local", url="127.0.0.1"), gpu), default_host="local")
    assert select_host(settings, "gpu") is gpu
    assert select_host(settings).name == "local"
    adhoc = select_host(settings, "other-box:9999")
    assert (adhoc.url, adhoc.token) == ("other-box:9999", None)  # an address never borrows a host's token
    assert adhoc.name == "http://other-box:9999"
    assert select_host(Settings(), None).url == "http://127.0.0.1:11434"
