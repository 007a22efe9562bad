"""A chat saved against one Ollama, reopened in the app while OLLAMA_HOST points at another."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from core.chat.history import HistoryStore
from core.config import Settings, load_settings
from core.hardware.probe import HardwareProbe
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_ollama_models import demo_models
from tests.tui.chat_support import finished, open_chat, send
from tests.tui.conftest import screen_text, wait_for
from tui.app import make_app
from tui.services import Services


@pytest.fixture
def other_ollama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOllama]:
    fake = FakeOllama(blob_dir=tmp_path_factory.mktemp("other-blobs"))
    for model in demo_models():
        fake.add_model(model)
    with fake:
        yield fake


def chats(fake: FakeOllama) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in fake.requests if r.path == "/api/chat"]


async def test_a_reopened_chat_goes_back_to_its_server_and_says_so(
        fake_ollama: FakeOllama, other_ollama: FakeOllama, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with HistoryStore.open() as store:  # held with A under the name "local"
        saved = store.create_session(model="llama3.2:latest", host="local", host_url=fake_ollama.url,
                                     host_kind="ollama")
        store.add_message(saved.id, "user", "first question")
        store.add_message(saved.id, "assistant", "first answer")
    monkeypatch.setenv("OLLAMA_HOST", other_ollama.url)  # today "local" is B
    settings = replace(settings, hosts=load_settings().hosts)
    probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu()]))
    app = make_app(settings, Services(hardware=probe))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_chat(pilot)
        assert screen.host.url == other_ollama.url
        screen.resume(saved.id)
        await wait_for(pilot, lambda: screen.session is not None and screen.session.id == saved.id)
        notice = f"This chat was held with {fake_ollama.url}, so it continues there"
        await wait_for(pilot, lambda: notice in " ".join(screen_text(app).split()))
        await send(pilot, screen, "second question")
        await finished(pilot, screen)
    assert chats(fake_ollama) == ["second question"]
    assert chats(other_ollama) == []
