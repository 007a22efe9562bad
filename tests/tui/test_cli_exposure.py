"""`llamadeck ls` / `ps` warn, on stderr, about an Ollama anyone on the network can use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import cli.main as cli
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_ollama_models import demo_models


@pytest.fixture
def open_fake(tmp_path: Path) -> Iterator[FakeOllama]:
    """A fake bound to every interface, like `OLLAMA_HOST=0.0.0.0 ollama serve`."""
    fake = FakeOllama(host="0.0.0.0", blob_dir=tmp_path / "blobs")
    fake.blob_dir.mkdir()
    for model in demo_models():
        fake.add_model(model)
    with fake:
        yield fake


@pytest.mark.parametrize("command", ["ls", "ps"])
def test_an_exposed_server_is_named_on_stderr_and_json_stays_clean(
        open_fake: FakeOllama, capsys: pytest.CaptureFixture[str], command: str) -> None:
    open_fake.set_running("llama3.2", size=2_000, size_vram=2_000)
    code = cli.main([command, "--json", "--host", f"127.0.0.1:{open_fake.port}"])
    out = capsys.readouterr()
    assert code == 0
    assert isinstance(json.loads(out.out), list)  # stdout is only the JSON
    assert out.err.startswith(f"llamadeck: warning: Ollama listens on 0.0.0.0:{open_fake.port}, "
                              "beyond loopback, and Ollama has no authentication")
    assert len(out.err.splitlines()) == 1


@pytest.mark.parametrize("command", ["ls", "ps"])
def test_a_loopback_only_server_gets_no_warning(fake_ollama: FakeOllama, capsys: pytest.CaptureFixture[str],
                                                command: str) -> None:
    code = cli.main([command, "--host", fake_ollama.url])
    assert (code, capsys.readouterr().err) == (0, "")
