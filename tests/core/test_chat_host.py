"""A saved conversation keeps the address its host meant, and goes back there when reopened."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.main import main
from core.chat.history import HISTORY_FILE, HistoryStore
from core.chat.host import host_for_session, server_url
from core.config import HostConfig, Settings
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_ollama_models import demo_models

MODEL = "qwen3:8b"


@pytest.fixture
def other_ollama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOllama]:
    """A second server (B), with the same models as the first (A)."""
    fake = FakeOllama(blob_dir=tmp_path_factory.mktemp("other-blobs"))
    for model in demo_models():
        fake.add_model(model)
    with fake:
        yield fake


def chats(fake: FakeOllama) -> list[str]:
    """The last user message of each /api/chat the server got."""
    return [r.body["messages"][-1]["content"] for r in fake.requests if r.path == "/api/chat"]


def test_the_address_is_kept_with_the_conversation(fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    assert main(["chat", MODEL, "hello"]) == 0
    with HistoryStore.open() as store:
        info = store.sessions()[0]
    assert (info.host, info.host_url, info.host_kind) == ("local", fake_ollama.url, "ollama")


def test_reopened_under_another_ollama_host_it_goes_back_to_its_server(
        fake_ollama: FakeOllama, other_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    assert main(["chat", MODEL, "first question"]) == 0
    monkeypatch.setenv("OLLAMA_HOST", other_ollama.url)
    capsys.readouterr()

    assert main(["chat", MODEL, "second question", "--continue", "1"]) == 0
    err = capsys.readouterr().err
    assert chats(fake_ollama) == ["first question", "second question"]
    assert chats(other_ollama) == []
    assert err.splitlines()[0] == (f"llamadeck: This chat was held with {fake_ollama.url}, so it continues "
                                   f"there ('local' now means {other_ollama.url}).")


def test_an_explicit_host_wins_and_says_so(fake_ollama: FakeOllama, other_ollama: FakeOllama,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    assert main(["chat", MODEL, "first question"]) == 0
    capsys.readouterr()
    assert main(["chat", MODEL, "second question", "--continue", "1", "--host", other_ollama.url]) == 0
    err = capsys.readouterr().err
    assert chats(other_ollama) == ["second question"]
    assert f"was held with {fake_ollama.url}; it continues on {other_ollama.url} as --host asks" in err
    with HistoryStore.open() as store:  # from now on it belongs to B
        assert store.session(1).host_url == other_ollama.url
    capsys.readouterr()
    monkeypatch.delenv("OLLAMA_HOST")
    assert main(["chat", MODEL, "third", "--continue", "1"]) == 0
    assert chats(other_ollama) == ["second question", "third"]


def test_a_configured_host_at_the_saved_address_is_used_with_its_token() -> None:
    box = HostConfig(name="box", url="gpu-box:11434", token="tok")
    moved = HostConfig(name="local", url="10.0.0.9")
    with HistoryStore.open() as store:
        info = store.create_session(model="m", host="box", host_url=server_url(box), host_kind="ollama")
    choice = host_for_session(info, moved, Settings(hosts=(moved, box)))
    assert choice.host is box
    assert choice.notice == ("This chat was held with http://gpu-box:11434, so it continues there "
                             "(this run uses http://10.0.0.9:11434).")


def test_same_address_or_unknown_address_changes_nothing() -> None:
    here = HostConfig(name="local", url="0.0.0.0")  # connects to loopback, like `ollama` does
    with HistoryStore.open() as store:
        same = store.create_session(model="m", host="local", host_url="http://127.0.0.1:11434")
        old = store.create_session(model="m", host="local")  # saved before the address was kept
    assert host_for_session(same, here, Settings()).notice is None
    assert host_for_session(old, here, Settings()).host is here


def test_a_schema_1_history_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / HISTORY_FILE
    with sqlite3.connect(path) as db:  # what llamadeck wrote before the address was kept
        db.executescript("""
            CREATE TABLE sessions (id INTEGER PRIMARY KEY, title TEXT NOT NULL DEFAULT '',
                model TEXT NOT NULL, host TEXT NOT NULL, system_prompt TEXT NOT NULL DEFAULT '',
                options TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL, updated_at REAL NOT NULL);
            CREATE TABLE messages (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL
                REFERENCES sessions(id) ON DELETE CASCADE, role TEXT NOT NULL,
                content TEXT NOT NULL DEFAULT '', thinking TEXT NOT NULL DEFAULT '',
                status TEXT NOT NULL DEFAULT 'complete', stats TEXT,
                error TEXT, model TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
            INSERT INTO sessions (title, model, host, created_at, updated_at)
                VALUES ('old', 'm', 'local', 1, 1);
            INSERT INTO messages (session_id, role, content, created_at, updated_at)
                VALUES (1, 'user', 'kept', 1, 1);
            PRAGMA user_version = 1;
        """)
    with HistoryStore.open(path) as store:
        info = store.session(1)
        assert (info.title, info.host, info.host_url, info.host_kind) == ("old", "local", "", "")
        assert [m.content for m in store.messages(1)] == ["kept"]
        store.update_session(1, host_url="http://127.0.0.1:11434")
        assert store.session(1).host_url == "http://127.0.0.1:11434"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
