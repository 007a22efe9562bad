"""OllamaClient against the fake Ollama server: results, every fault as a sentence, cancel and resume."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator

import pytest

from core.config import HostConfig
from core.errors import ModelNotFound, OllamaError, OllamaUnreachable, ServerTimeout, StreamError
from core.ollama.client import OllamaClient
from core.ollama.types import PullProgress
from tests.fakes.fake_ollama import FakeOllama

SECRET = "s3cret-token-value"


@pytest.fixture
async def client(fake_ollama: FakeOllama) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(HostConfig(name="test", url=fake_ollama.url)) as c:
        yield c


async def drain(client: OllamaClient, name: str) -> list[PullProgress]:
    return [p async for p in client.pull(name)]


# --------------------------------------------------------------------------- results


async def test_list_models(client: OllamaClient) -> None:
    models = {m.name: m for m in await client.list_models()}
    llama = models["llama3.2:latest"]
    assert llama.size == 2_019_393_189
    assert llama.short_id == "a80c4f17acd5"
    assert (llama.details.family, llama.details.parameter_size, llama.details.quantization_level,
            llama.details.format) == ("llama", "3.2B", "Q4_K_M", "gguf")
    assert llama.modified_at is not None and llama.modified_at.tzinfo is not None


async def test_show_pulls_out_the_architecture(client: OllamaClient) -> None:
    info = await client.show("qwen3:8b")
    assert (info.architecture, info.context_length, info.embedding_length, info.block_count,
            info.head_count, info.head_count_kv) == ("qwen3", 40960, 4096, 36, 32, 8)
    assert info.parameter_count == 8_190_735_360
    assert info.capabilities == ("completion", "tools", "thinking")
    assert "<think>" in info.template
    assert ("top_k", "20") in info.parameter_list
    assert info.license_head(1) == "Apache License"
    assert info.modelfile.startswith("# Modelfile")
    assert info.details.quantization_level == "Q4_K_M"
    assert info.info("general.architecture") == "qwen3"
    assert info.info("tokenizer.ggml.tokens") == []


async def test_show_keeps_per_layer_head_counts(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.find("llama3.2").head_count_kv = [8, 8, 4, 4]  # type: ignore[union-attr]
    fake_ollama.find("llama3.2").system = "You are terse."  # type: ignore[union-attr]
    info = await client.show("llama3.2")
    assert info.head_count_kv == (8, 8, 4, 4)
    assert info.system == "You are terse."


async def test_load_running_unload(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    assert await client.running() == []
    await client.load("llama3.2", keep_alive="10m")
    [model] = await client.running()
    assert model.name == "llama3.2:latest"
    assert model.processor == "100% GPU"
    assert model.context_length == 4096
    assert model.expires_at is not None
    assert 9 * 60 < (model.expires_at.timestamp() - time.time()) <= 10 * 60
    await client.unload("llama3.2")
    assert await client.running() == []
    sent = [r.body for r in fake_ollama.requests if r.path == "/api/generate"]
    assert sent[-1]["keep_alive"] == 0 and not sent[-1].get("prompt")


async def test_running_reports_the_cpu_gpu_split(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.set_running("qwen3:8b", size=10_000, size_vram=4_000)
    fake_ollama.set_running("llama3.2", size=10_000, size_vram=0)
    split = {m.name: (m.processor, m.on_cpu_only) for m in await client.running()}
    assert split == {"qwen3:8b": ("60%/40% CPU/GPU", False), "llama3.2:latest": ("100% CPU", True)}


async def test_copy_and_delete(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    await client.copy("llama3.2", "backup")
    await client.load("backup")
    await client.delete("backup")
    assert fake_ollama.find("backup") is None
    assert "backup:latest" not in fake_ollama.running  # unloaded first, as `ollama rm` does


async def test_rename(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    await client.rename("llama3.2", "llama-small")
    assert fake_ollama.find("llama3.2") is None
    assert fake_ollama.find("llama-small:latest") is not None
    with pytest.raises(ModelNotFound):
        await client.rename("llama3.2", "again")


async def test_delete_of_a_model_that_is_not_loaded(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    await client.delete("deepseek-r1:7b")
    assert fake_ollama.find("deepseek-r1:7b") is None


async def test_version_and_health(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.version = "0.13.1"
    assert await client.version() == "0.13.1"
    health = await client.health()
    assert health.reachable and health.version == "0.13.1" and health.error is None
    assert health.is_local and health.url == fake_ollama.url
    assert health.exposure_warning is None
    assert f"127.0.0.1:{fake_ollama.port}" in health.listen_addresses


# --------------------------------------------------------------------------- pull


async def test_pull_aggregates_layers(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.pull_steps = 4
    steps = await drain(client, "tinyllama")
    assert steps[0].status == "pulling manifest"
    assert steps[-1].done and steps[-1].fraction == 1.0
    assert len(steps[-1].layers) == 4
    assert steps[-1].total_bytes == sum(size for _, size in fake_ollama.library["tinyllama:latest"].layers)
    assert any(s.completed is None and s.digest for s in steps)  # the first line of a layer
    assert fake_ollama.find("tinyllama") is not None


async def test_pull_unknown_model(client: OllamaClient) -> None:
    with pytest.raises(ModelNotFound) as err:
        await drain(client, "no-such-model")
    assert str(err.value) == ("Model 'no-such-model' was not found in the Ollama library. "
                              "Check the name and tag at https://ollama.com/library.")


async def test_server_vanishing_mid_pull_then_a_repull_resumes(fake_ollama: FakeOllama,
                                                               client: OllamaClient) -> None:
    fake_ollama.pull_steps = 20
    fake_ollama.add_fault(path="/api/pull", drop_after=6, times=1)
    seen: list[PullProgress] = []
    with pytest.raises(StreamError) as err:
        async for p in client.pull("tinyllama"):
            seen.append(p)
    assert str(err.value) == (f"The connection to Ollama at {fake_ollama.url} dropped while pulling "
                              "tinyllama. Pulling again resumes where it stopped.")
    got = seen[-1].completed_bytes
    assert got > 0
    resumed = await drain(client, "tinyllama")
    first_layer = next(p for p in resumed if p.digest)
    assert first_layer.completed is not None and first_layer.completed >= got
    assert resumed[-1].done


async def wait_closed(fake: FakeOllama) -> None:
    """Until the fake has no open connection left (it notices a client that hung up)."""
    for _ in range(1500):
        if not fake._conns:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the server is still streaming to nobody")


async def test_cancelling_a_pull_closes_the_connection_and_resumes(fake_ollama: FakeOllama,
                                                                   client: OllamaClient) -> None:
    fake_ollama.pull_steps = 200
    digest, total = fake_ollama.library["tinyllama:latest"].layers[0]
    fake_ollama.pull_hold_at = total // 4  # stays in progress until cancelled
    progressed = asyncio.Event()

    async def worker() -> None:  # what a Textual @work(exclusive=True) worker does
        async for p in client.pull("tinyllama"):
            if p.completed_bytes > 0:
                progressed.set()

    task = asyncio.create_task(worker())
    await asyncio.wait_for(progressed.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_closed(fake_ollama)  # the server noticed the closed connection and stopped "downloading"
    stopped_at = fake_ollama.downloaded[digest]
    assert 0 < stopped_at < total
    fake_ollama.pull_release.set()
    resumed = await drain(client, "tinyllama")
    first = next(p for p in resumed if p.digest == digest)
    assert first.completed == stopped_at
    assert resumed[-1].done


async def test_breaking_out_of_a_pull_closes_it(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.pull_steps = 200
    digest, total = fake_ollama.library["tinyllama:latest"].layers[0]
    fake_ollama.pull_hold_at = total // 4
    stream = client.pull("tinyllama")
    async for p in stream:
        if p.completed_bytes:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    await wait_closed(fake_ollama)
    assert fake_ollama.downloaded[digest] < total


async def test_error_line_in_the_middle_of_a_pull(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.add_fault(path="/api/pull", error_line_after=4, error="max retries exceeded: unexpected EOF")
    with pytest.raises(StreamError) as err:
        await drain(client, "tinyllama")
    assert str(err.value) == (f"Ollama at {fake_ollama.url} reported an error while pulling tinyllama: "
                              "max retries exceeded: unexpected EOF. Pulling again resumes where it stopped.")


async def test_malformed_line(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.add_fault(path="/api/pull", malformed_after=2)
    with pytest.raises(StreamError, match="sent a line that is not JSON while pulling tinyllama"):
        await drain(client, "tinyllama")


async def test_a_stream_that_ends_early_is_an_error(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.library["tinyllama:latest"].layers.clear()

    def cut_short(name: str):  # type: ignore[no-untyped-def]
        yield {"status": "pulling manifest"}

    fake_ollama._pull_lines = cut_short  # type: ignore[method-assign]
    with pytest.raises(StreamError, match="ended the pull of tinyllama before it finished"):
        await drain(client, "tinyllama")


# --------------------------------------------------------------------------- errors


async def test_not_running_is_the_sentence_users_need() -> None:
    async with OllamaClient(HostConfig(name="local", url="127.0.0.1:9")) as c:  # nothing listens on port 9
        with pytest.raises(OllamaUnreachable) as err:
            await c.list_models()
    assert str(err.value) == ("Ollama is not running at http://127.0.0.1:9 - "
                              "start it with `ollama serve` or `systemctl start ollama`.")


async def test_server_going_away_and_back(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    assert await client.list_models()
    with fake_ollama.refusing():
        with pytest.raises(OllamaUnreachable, match="Ollama is not running at"):
            await client.running()
        with pytest.raises(OllamaUnreachable):
            await drain(client, "tinyllama")
        health = await client.health()
        assert not health.reachable and health.error is not None
        assert health.error.startswith("Ollama is not running at")
    assert await client.list_models()


async def test_model_not_found(client: OllamaClient, fake_ollama: FakeOllama) -> None:
    with pytest.raises(ModelNotFound) as err:
        await client.show("llama9")
    assert str(err.value) == (f"Model 'llama9' is not on Ollama at {fake_ollama.url}. "
                              "Pull it with `llamadeck pull llama9`.")
    with pytest.raises(ModelNotFound):
        await client.load("llama9")
    with pytest.raises(ModelNotFound, match="`llamadeck ls` lists the models it has"):
        await client.delete("llama9")


async def test_http_500_carries_the_servers_error(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.add_fault(path="/api/ps", status=500, error="model list cache unavailable")
    with pytest.raises(OllamaError) as err:
        await client.running()
    assert str(err.value) == (f"Ollama at {fake_ollama.url} failed while listing running models (HTTP 500): "
                              "model list cache unavailable.")


async def test_a_400_names_what_was_refused(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.add_fault(path="/api/copy", status=400, error='destination "" is invalid')
    expected = 'refused copying llama3.2 to x: destination "" is invalid'
    with pytest.raises(OllamaError, match=re.escape(expected)):
        await client.copy("llama3.2", "x")


async def test_wrong_path_is_not_an_ollama_api(fake_ollama: FakeOllama) -> None:
    async with OllamaClient(HostConfig(name="p", url=fake_ollama.url + "/not-ollama")) as c:
        with pytest.raises(OllamaError, match=r"There is no Ollama API at .*/not-ollama"):
            await c.list_models()


async def test_proxy_errors(fake_ollama: FakeOllama, client: OllamaClient) -> None:
    fake_ollama.add_fault(path="/api/tags", status=502, error="<html>Bad Gateway</html>", times=1)
    with pytest.raises(OllamaError, match="502 Bad Gateway while listing models"):
        await client.list_models()
    fake_ollama.add_fault(path="/api/tags", status=401, error="unauthorized", times=1)
    with pytest.raises(OllamaError, match="Check the token or headers configured for host 'test'"):
        await client.list_models()


async def test_a_slow_answer_times_out_with_a_sentence(fake_ollama: FakeOllama) -> None:
    fake_ollama.add_fault(path="/api/tags", delay=1.0)
    async with OllamaClient(HostConfig(name="t", url=fake_ollama.url), timeout=0.2) as c:
        with pytest.raises(ServerTimeout) as err:
            await c.list_models()
    assert str(err.value) == (f"Timed out: Ollama at {fake_ollama.url} did not answer within 0.2 s while "
                              "listing models. It may be busy loading a model; try again.")


async def test_a_silent_stream_times_out(fake_ollama: FakeOllama) -> None:
    fake_ollama.pull_delay = 1.0
    async with OllamaClient(HostConfig(name="t", url=fake_ollama.url), stream_timeout=0.2) as c:
        with pytest.raises(ServerTimeout) as err:
            await drain(c, "tinyllama")
    assert str(err.value).startswith("Timed out: ")
    assert "sent nothing for 0.2 s while pulling tinyllama" in str(err.value)


# --------------------------------------------------------------------------- credentials


async def test_token_and_headers_go_on_every_request(fake_ollama: FakeOllama) -> None:
    host = HostConfig(name="gpu", url=fake_ollama.url, token=SECRET, headers=(("X-Team", "lab"),))
    async with OllamaClient(host) as c:
        await c.list_models()
        await drain(c, "tinyllama")
        await c.version()
    assert len(fake_ollama.requests) == 3
    for request in fake_ollama.requests:
        assert request.headers["authorization"] == f"Bearer {SECRET}"
        assert request.headers["x-team"] == "lab"


async def test_env_api_key_is_not_sent_to_other_hosts(fake_ollama: FakeOllama,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "cloud-key")
    async with OllamaClient(HostConfig(name="t", url=fake_ollama.url)) as c:
        await c.list_models()
    assert "authorization" not in fake_ollama.requests[-1].headers


async def test_secrets_stay_out_of_repr_messages_and_logs(fake_ollama: FakeOllama,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    host = HostConfig(name="gpu", url=fake_ollama.url, token=SECRET, headers=(("X-Api-Key", SECRET),))
    async with OllamaClient(host) as c:
        assert SECRET not in repr(c)
        messages = []
        fake_ollama.add_fault(path="/api/tags", status=401, error="unauthorized", times=1)
        for call in (c.list_models(), c.show("nope")):
            try:
                await call
            except OllamaError as exc:
                messages.append(str(exc))
        with fake_ollama.refusing():
            try:
                await c.running()
            except OllamaError as exc:
                messages.append(str(exc))
    assert len(messages) == 3
    assert all(SECRET not in m for m in messages)
    assert SECRET not in caplog.text


async def test_client_calls_are_independent_of_each_other(client: OllamaClient) -> None:
    """The screen polls ps while a pull runs: concurrent calls on one client must both work."""
    results = await asyncio.gather(client.running(), client.list_models(), drain(client, "tinyllama"))
    assert results[2][-1].done
