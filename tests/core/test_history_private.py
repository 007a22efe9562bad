"""The chat history is private: a 0700 folder and 0600 files, whatever the umask, old files tightened."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import paths
from core.chat.export import write_export
from core.chat.history import HISTORY_FILE, HistoryStore, make_private
from core.chat.history_file import sidecars
from core.chat.types import SessionInfo


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask of a desktop or server account: new files readable by everyone."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_history_is_readable_by_its_owner_only(open_umask: None) -> None:
    store = HistoryStore.open()
    sess = store.create_session(model="m", host="local")
    store.add_message(sess.id, "user", "my medical question")
    wal, shm = sidecars(store.path)
    assert wal.exists() and shm.exists()  # SQLite made them after we opened the file
    assert store.path.parent == paths.data_dir()
    assert mode(store.path.parent) == 0o700
    assert [mode(p) for p in (store.path, wal, shm)] == [0o600, 0o600, 0o600]
    assert store.notice is None  # nothing to tighten, nothing to say
    store.close()


def test_an_old_readable_history_is_tightened_and_the_user_told(tmp_path: Path, open_umask: None) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    path = folder / HISTORY_FILE
    store = HistoryStore.open(path)
    store.create_session(model="m", host="local")
    store.close()
    for p in (path, *sidecars(path)):
        if p.exists():
            os.chmod(p, 0o644)  # as an older llamadeck left them
    os.chmod(folder, 0o755)

    again = HistoryStore.open(path)
    assert mode(folder) == 0o700
    assert all(mode(p) == 0o600 for p in (path, *sidecars(path)) if p.exists())
    assert again.notice is not None
    assert "readable by other users" in again.notice and "readable by you only" in again.notice
    assert len(again.sessions()) == 1  # nothing lost on the way
    again.close()

    third = HistoryStore.open(path)  # told once: nothing left to tighten
    assert third.notice is None
    third.close()


def test_a_damaged_history_moved_aside_is_private_too(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / HISTORY_FILE
    path.write_bytes(b"not sqlite, but someone's private chats" * 10)
    os.chmod(path, 0o644)
    store = HistoryStore.open(path, now=lambda: 1_700_000_000.0)
    assert store.moved_to is not None and mode(store.moved_to) == 0o600
    assert mode(path) == 0o600
    assert store.notice is not None and "moved to" in store.notice and "readable by you only" in store.notice
    store.close()


def test_exports_are_private(open_umask: None) -> None:
    store = HistoryStore.open()
    sess = store.create_session(model="m", host="local")
    store.add_message(sess.id, "user", "secret plans")
    info: SessionInfo = store.session(sess.id)
    target = write_export(store, info, "md")
    assert "secret plans" in target.read_text(encoding="utf-8")
    assert mode(target) == 0o600 and mode(target.parent) == 0o700
    store.close()


def test_a_loose_folder_without_a_history_is_tightened_quietly(tmp_path: Path, open_umask: None) -> None:
    folder = tmp_path / "data"
    (folder / "models").mkdir(parents=True)  # made by something else first, 0755
    os.chmod(folder, 0o755)
    store = HistoryStore.open(folder / HISTORY_FILE)
    assert mode(folder) == 0o700 and store.notice is None  # there was nothing private in it to warn about
    store.close()


def test_make_private_at_start_up_creates_nothing_and_says_nothing_without_a_history() -> None:
    assert make_private() is None
    assert not paths.data_dir().exists()
