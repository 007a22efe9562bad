"""The SQLite chat history: nothing is lost, damaged files are moved aside, search finds CJK."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from core import paths
from core.chat.history import HISTORY_FILE, HistoryStore, title_from
from core.chat.types import ChatOptions, ChatStats
from core.errors import HistoryError


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


@pytest.fixture
def store() -> HistoryStore:
    s = HistoryStore.open(now=Clock())
    yield s  # type: ignore[misc]
    s.close()


def test_lives_in_the_data_dir_in_wal_mode(store: HistoryStore) -> None:
    assert store.path == paths.data_dir() / HISTORY_FILE
    assert store.path.exists()
    assert store.notice is None
    with sqlite3.connect(store.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_conversation_round_trips(store: HistoryStore) -> None:
    opts = ChatOptions(temperature=0.2, stop=("###",), think="high", history_limit=6)
    sess = store.create_session(model="qwen3:8b", host="local", system_prompt="Be brief.", options=opts)
    assert sess.title == "" and sess.message_count == 0
    user = store.add_message(sess.id, "user", "Why is the sky blue?\nExplain simply.")
    reply = store.begin_reply(sess.id, "qwen3:8b")
    stats = ChatStats(ttft_s=0.25, prompt_tokens=12, prompt_s=0.1, output_tokens=40, output_s=2.0)
    store.save_reply(reply, content="Rayleigh scattering.", thinking="Physics.", status="complete",
                     stats=stats)

    again = store.session(sess.id)
    assert again.title == "Why is the sky blue?"  # named after the first prompt
    assert again.options == opts and again.system_prompt == "Be brief." and again.message_count == 2
    msgs = store.messages(sess.id)
    assert [(m.id, m.role, m.status) for m in msgs] == [
        (user, "user", "complete"), (reply, "assistant", "complete")]
    assert msgs[1].content == "Rayleigh scattering." and msgs[1].thinking == "Physics."
    assert msgs[1].stats == stats and msgs[1].stats.output_tps == 20.0
    assert msgs[1].model == "qwen3:8b"


def test_a_reply_left_streaming_reads_as_interrupted_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / HISTORY_FILE
    first = HistoryStore.open(path)
    sess = first.create_session(model="m", host="local")
    first.add_message(sess.id, "user", "hi")
    reply = first.begin_reply(sess.id, "m")
    first.save_reply(reply, content="partial ans", thinking="hmm")
    assert first.message(reply).status == "streaming"  # ours, still going
    # the process dies here: no final save, no close

    second = HistoryStore.open(path)
    msg = second.message(reply)
    assert (msg.status, msg.content, msg.thinking) == ("interrupted", "partial ans", "hmm")
    first.close()
    second.close()


def test_sessions_are_listed_newest_first_renamed_and_deleted(store: HistoryStore) -> None:
    a = store.create_session(model="m", host="h")
    b = store.create_session(model="m", host="h")
    store.add_message(a.id, "user", "later activity")
    assert [s.id for s in store.sessions()] == [a.id, b.id]
    assert [s.id for s in store.sessions(limit=1)] == [a.id]
    store.rename_session(b.id, "  Renamed  ")
    assert store.session(b.id).title == "Renamed"
    store.add_message(b.id, "user", "does not overwrite a chosen title")
    assert store.session(b.id).title == "Renamed"
    store.delete_session(a.id)
    assert [s.id for s in store.sessions()] == [b.id]
    with pytest.raises(HistoryError, match="no conversation"):
        store.session(a.id)
    assert store._read("SELECT COUNT(*) AS n FROM messages WHERE session_id = ?", (a.id,))[0]["n"] == 0


def test_search_finds_titles_and_content_including_chinese(store: HistoryStore) -> None:
    zh = store.create_session(model="qwen", host="h")
    store.add_message(zh.id, "user", "请解释一下量化")
    store.save_reply(store.begin_reply(zh.id, "qwen"), content="量化把模型的权重从16位压缩到4位。",
                     thinking="", status="complete")
    en = store.create_session(model="llama", host="h", title="GPU memory")
    store.add_message(en.id, "user", "How much VRAM does a 7B model need at 100% offload?")
    other = store.create_session(model="llama", host="h")
    store.add_message(other.id, "user", "Tell me a joke about 1000 cats")

    assert [s.id for s in store.search("模型")] == [zh.id]  # two characters, no spaces
    hit = store.search("权重")[0]
    assert hit.snippet is not None and "权重" in hit.snippet
    assert [s.id for s in store.search("gpu")] == [en.id]  # title, any case
    assert [s.id for s in store.search("vram 7b")] == [en.id]  # every word, anywhere
    assert store.search("vram cats") == []
    assert [s.id for s in store.search("100%")] == [en.id]  # % is text, not a wildcard
    assert [s.id for s in store.search("1_00")] == []
    assert {s.id for s in store.search("  ")} == {zh.id, en.id, other.id}


def test_garbage_file_is_moved_aside_never_deleted(tmp_path: Path) -> None:
    path = tmp_path / HISTORY_FILE
    garbage = b"this is not sqlite at all\x00\xff" * 200
    path.write_bytes(garbage)
    (tmp_path / (HISTORY_FILE + "-wal")).write_bytes(b"junk wal")

    store = HistoryStore.open(path, now=lambda: 1_700_000_000.0)
    assert store.moved_to is not None
    assert store.moved_to.name.startswith(HISTORY_FILE + ".corrupt-")
    assert store.moved_to.read_bytes() == garbage
    assert Path(str(store.moved_to) + "-wal").read_bytes() == b"junk wal"
    assert store.notice is not None and str(store.moved_to) in store.notice
    assert "Nothing was deleted" in store.notice
    sess = store.create_session(model="m", host="h")  # the fresh file works
    assert store.sessions()[0].id == sess.id
    store.close()

    path.write_bytes(garbage)  # damaged again in the same second: a second name, nothing overwritten
    again = HistoryStore.open(path, now=lambda: 1_700_000_000.0)
    assert again.moved_to is not None and again.moved_to != store.moved_to and store.moved_to.exists()
    again.close()


def test_a_damaged_page_is_caught_on_open(tmp_path: Path) -> None:
    path = tmp_path / HISTORY_FILE
    store = HistoryStore.open(path)
    sess = store.create_session(model="m", host="h")
    for i in range(300):
        store.add_message(sess.id, "user", f"message {i} " + "x" * 200)
    store.close()
    with sqlite3.connect(path) as db:  # fold the WAL in so the damage hits the main file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 3: page * 3 + 200] = b"\xde\xad\xbe\xef" * 50  # scribble over an index/table page
    path.write_bytes(bytes(data))

    reopened = HistoryStore.open(path)
    assert reopened.moved_to is not None and reopened.moved_to.read_bytes() == bytes(data)
    assert reopened.notice is not None and "moved to" in reopened.notice
    assert reopened.sessions() == []
    reopened.close()


def test_a_newer_schema_is_refused_not_moved(tmp_path: Path) -> None:
    path = tmp_path / HISTORY_FILE
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="newer llamadeck"):
        HistoryStore.open(path)
    assert path.exists() and not list(tmp_path.glob("*.corrupt-*"))


def test_writes_from_several_threads_all_land(store: HistoryStore) -> None:
    sess = store.create_session(model="m", host="h")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(40):
                mid = store.begin_reply(sess.id, "m")
                store.save_reply(mid, content=f"{n}-{i}", thinking="", status="complete")
                store.search(f"{n}-")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    contents = sorted(m.content for m in store.messages(sess.id))
    assert contents == sorted(f"{n}-{i}" for n in range(4) for i in range(40))


def test_errors_are_one_sentence_history_errors(store: HistoryStore) -> None:
    sess = store.create_session(model="m", host="h")
    with pytest.raises(HistoryError, match="not a message status"):
        store.add_message(sess.id, "user", "x", status="bogus")
    store.close()
    with pytest.raises(HistoryError, match="Could not save the reply"):
        store.save_reply(1, content="x", thinking="")


def test_unreadable_folder_is_a_history_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(HistoryError, match="Cannot create the folder"):
        HistoryStore.open(blocker / "sub" / HISTORY_FILE)


def test_exports_carry_everything(store: HistoryStore) -> None:
    sess = store.create_session(model="deepseek-r1:7b", host="gpu-box", system_prompt="Answer in Chinese.",
                                options=ChatOptions(temperature=0.6))
    store.add_message(sess.id, "user", "什么是 KV cache？")
    done = store.begin_reply(sess.id, "deepseek-r1:7b")
    store.save_reply(done, content="KV cache 保存注意力的键和值。", thinking="用户问缓存。",
                     status="complete", stats=ChatStats(ttft_s=0.3, output_tokens=20, output_s=0.5))
    store.add_message(sess.id, "user", "More?")
    cut = store.begin_reply(sess.id, "deepseek-r1:7b")
    store.save_reply(cut, content="It also", thinking="", status="stopped")

    md = store.export_markdown(sess.id)
    assert md.startswith("# 什么是 KV cache？\n")
    for piece in ("Answer in Chinese.", "temperature=0.6", "用户问缓存。", "KV cache 保存注意力的键和值。",
                  "output 20 tok @ 40.0 tok/s", "It also", "stopped by the user"):
        assert piece in md

    data = json.loads(store.export_json(sess.id))
    assert data["format"] == "llamadeck-chat" and data["session"]["options"] == {"temperature": 0.6}
    assert [(m["role"], m["status"]) for m in data["messages"]] == [
        ("user", "complete"), ("assistant", "complete"), ("user", "complete"), ("assistant", "stopped")]
    assert data["messages"][1]["thinking"] == "用户问缓存。"
    assert data["messages"][1]["stats"]["output_tokens"] == 20


@pytest.mark.parametrize(
    ("prompt", "title"),
    [
        ("Hello", "Hello"),
        ("\n\n  first real line  \nsecond", "first real line"),
        ("word " * 30, "word word word word word word word word word word word word…"),
        ("长" * 80, "长" * 60 + "…"),
        ("", ""),
    ],
)
def test_title_from_prompt(prompt: str, title: str) -> None:
    assert title_from(prompt) == title
