"""Server health: exposed without authentication, silently on CPU, and TLS to a proxy."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from core.config import HostConfig
from core.errors import OllamaUnreachable
from core.ollama.client import OllamaClient
from core.ollama.health import exposure_warning
from core.ollama.host import parse_ollama_host
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_ollama_models import demo_models


def _lan_address() -> str | None:
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return str(a.address)
    return None


@pytest.fixture
def open_fake(tmp_path: Path) -> Iterator[FakeOllama]:
    """A fake bound to every interface, like `OLLAMA_HOST=0.0.0.0 ollama serve`."""
    fake = FakeOllama(host="0.0.0.0", blob_dir=tmp_path / "blobs")
    fake.blob_dir.mkdir()
    for model in demo_models():
        fake.add_model(model)
    with fake:
        yield fake


# --------------------------------------------------------------------------- exposure


def test_a_remote_host_without_auth_is_exposed() -> None:
    warning = exposure_warning(parse_ollama_host("192.168.1.5"), has_auth=False)
    assert warning is not None
    assert warning.startswith("Ollama at http://192.168.1.5:11434 answers over the network without "
                              "authentication")
    assert exposure_warning(parse_ollama_host("https://ollama.lan"), has_auth=True) is None
    plain = exposure_warning(parse_ollama_host("http://ollama.lan"), has_auth=True)
    assert plain is not None and "unencrypted" in plain


def test_a_local_server_listening_everywhere_is_exposed() -> None:
    local = parse_ollama_host("127.0.0.1")
    assert exposure_warning(local, has_auth=False, listen_addresses=["127.0.0.1:11434"]) is None
    assert exposure_warning(local, has_auth=False, listen_addresses=["[::1]:11434"]) is None
    assert exposure_warning(local, has_auth=False) is None  # nothing known: no claim either way
    for addresses in (["0.0.0.0:11434"], ["[::]:11434"], ["127.0.0.1:11434", "192.168.1.5:11434"]):
        warning = exposure_warning(local, has_auth=True, listen_addresses=addresses)
        assert warning is not None and addresses[-1] in warning


async def test_health_sees_a_local_server_listening_on_every_interface(open_fake: FakeOllama) -> None:
    async with OllamaClient(HostConfig(name="local", url=f"0.0.0.0:{open_fake.port}")) as c:
        health = await c.health()
    assert health.reachable and health.is_local
    assert health.url == f"http://127.0.0.1:{open_fake.port}"
    assert f"0.0.0.0:{open_fake.port}" in health.listen_addresses
    assert health.exposure_warning is not None
    assert health.exposure_warning.startswith(f"Ollama listens on 0.0.0.0:{open_fake.port}, beyond loopback")


async def test_health_of_a_server_reached_over_the_network(open_fake: FakeOllama) -> None:
    address = _lan_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    async with OllamaClient(HostConfig(name="box", url=f"{address}:{open_fake.port}")) as c:
        health = await c.health()
    assert health.reachable and not health.is_local and health.listen_addresses == ()
    assert health.exposure_warning is not None and "without authentication" in health.exposure_warning
    async with OllamaClient(HostConfig(name="box", url=f"{address}:{open_fake.port}", token="t")) as c:
        health = await c.health()
    assert health.exposure_warning is not None and "unencrypted" in health.exposure_warning


# --------------------------------------------------------------------------- TLS


@pytest.fixture
def tls_fake(tmp_path: Path) -> Iterator[FakeOllama]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    fake = FakeOllama(tls=context, blob_dir=tmp_path / "blobs")
    fake.blob_dir.mkdir()
    fake.add_model(demo_models()[0])
    with fake:
        yield fake


async def test_tls_is_verified_by_default(tls_fake: FakeOllama) -> None:
    async with OllamaClient(HostConfig(name="proxy", url=tls_fake.url)) as c:
        with pytest.raises(OllamaUnreachable) as err:
            await c.list_models()
    assert str(err.value).startswith(f"The TLS certificate of {tls_fake.url} could not be verified")
    assert "verify_tls = false" in str(err.value)


async def test_tls_verification_can_be_turned_off_per_host(tls_fake: FakeOllama) -> None:
    async with OllamaClient(HostConfig(name="proxy", url=tls_fake.url, verify_tls=False)) as c:
        assert [m.name for m in await c.list_models()] == ["llama3.2:latest"]


async def test_https_to_a_plain_http_server(fake_ollama: FakeOllama) -> None:
    url = fake_ollama.url.replace("http://", "https://")
    async with OllamaClient(HostConfig(name="x", url=url)) as c:
        with pytest.raises(OllamaUnreachable, match=r"TLS with https://127\.0\.0\.1:\d+ failed"):
            await c.list_models()
