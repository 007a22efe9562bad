"""Addresses and credentials llamadeck refuses before connecting, each with a sentence naming its source.

Ollama silently replaces a bad port with 11434; here that is refused, so a
typo never talks to another server. Any string at all (random bytes, fixed
seeds) either resolves to an address or is a ConfigError sentence, never
another exception.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from core.config import HostConfig, Settings, load_settings
from core.errors import ConfigError
from core.ollama.host import endpoint_for, select_host


@pytest.mark.parametrize(("origin", "start", "fix"), [
    ("OLLAMA_HOST", "OLLAMA_HOST='127.0.0.1:99999' has the port '99999'", "fix or unset OLLAMA_HOST."),
    ("--host", "--host '127.0.0.1:99999' has the port '99999'", "pass an address such as 127.0.0.1:11434."),
    ("", "Host 'box' (url '127.0.0.1:99999') has the port '99999'",
     "fix `url` in [hosts.box] of the config."),
])
def test_a_bad_port_is_refused_naming_where_it_came_from(origin: str, start: str, fix: str) -> None:
    with pytest.raises(ConfigError) as err:
        endpoint_for(HostConfig(name="box", url="127.0.0.1:99999", origin=origin))
    text = str(err.value)
    assert text.startswith(start) and text.endswith(fix)
    assert "Ollama itself would quietly use port 11434 instead" in text


@pytest.mark.parametrize(("url", "port"), [("http://box:70000", 80), ("https://box:-1", 443),
                                           ("box:abc", 11434)])
def test_the_port_ollama_would_use_instead_is_named(url: str, port: int) -> None:
    with pytest.raises(ConfigError, match=f"would quietly use port {port} instead"):
        endpoint_for(HostConfig(name="box", url=url))


@pytest.mark.parametrize("url", ["127.0.0.1:", "box", ":1234", "http://[fe80::1%eth0]:99", "bücher.example"])
def test_addresses_ollama_reads_without_a_port_problem_are_kept(url: str) -> None:
    endpoint_for(HostConfig(name="box", url=url))


def test_ollama_host_is_marked_as_the_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "box:99999")
    host = load_settings(tmp_path / "none.toml").host()
    assert host is not None and host.origin == "OLLAMA_HOST"
    assert select_host(Settings(), "box:1").origin == "--host"


@pytest.mark.parametrize("seed", range(200))
def test_any_string_is_an_address_or_a_sentence(seed: int) -> None:
    rng = random.Random(seed)
    raw = bytes(rng.randrange(0, 256) for _ in range(rng.randrange(0, 48)))
    url = raw.decode("utf-8", "surrogateescape")
    try:
        endpoint = endpoint_for(HostConfig(name="box", url=url, origin="OLLAMA_HOST"))
    except ConfigError as err:
        text = str(err)
        assert text.startswith(("OLLAMA_HOST=", "Host 'box' has credentials")) and text.endswith(".")
        assert "\x1b" not in text and "\n" not in text  # control characters are quoted, never sent raw
    else:
        assert endpoint.connect_url.isprintable()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("line", "key"), [
    ('headers = { "X-Team" = "café" }', "hosts.box.headers.X-Team"),
    ('headers = { "X-Team" = "a\\nb" }', "hosts.box.headers.X-Team"),
    ('token = "tök-123"', "hosts.box.token"),
    ('headers = { "X Team" = "lab" }', "hosts.box.headers"),
])
def test_a_header_or_token_http_cannot_send_is_refused_without_quoting_it(tmp_path: Path, line: str,
                                                                         key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, f'[hosts.box]\nurl = "http://box:11434"\n{line}\n'))
    assert f"`{key}`" in str(err.value)
    assert "café" not in str(err.value) and "tök" not in str(err.value)
