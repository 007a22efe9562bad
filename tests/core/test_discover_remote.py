"""Remote GGUF headers by HTTP ranges: requests and bytes, mirrors without ranges, hostile files, tokens."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import httpx
import pytest

from core.discover.hub import Hub
from core.discover.ranges import GatedFile, RangeReader
from core.discover.remote_header import SECOND_READ, read_remote_header, sibling_read
from core.discover.types import GATED_NOTE, RemoteFile
from core.errors import DiscoverError, ModelFactsError
from core.facts.gguf_header import GGUFHeader, read_header
from tests.core.discover_support import TOKEN, VOCABULARIES, hollow_repo, hub, hub_for, tiny_gguf
from tests.fakes.fake_hub import FakeHub, HubRepo, header
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf

__all__ = ["hub"]


def _same(remote: GGUFHeader, local: Path) -> bool:
    """The header read over HTTP is the one read from the file (its path is the repo's)."""
    return dataclasses.replace(remote, path=local) == read_header(local)


def _remote(fake: FakeHub, repo: HubRepo, path: str) -> RemoteFile:
    url = Hub(fake.url).file_url(repo.repo_id, repo.sha, path)
    return RemoteFile(path, repo.files[path].stat().st_size, url)


def _reader(fake: FakeHub, *, token: bool = True) -> RangeReader:
    return RangeReader(hub_for(fake, token=token).headers())


@pytest.mark.parametrize("vocab", ["32k", "128k", "152k", "256k"])
def test_a_header_takes_at_most_two_requests_and_8_mb(hub: FakeHub, tmp_path: Path, vocab: str) -> None:
    repo = hub.add(hollow_repo(tmp_path, vocab))
    path = next(iter(repo.files))
    with _reader(hub) as reader:
        remote = read_remote_header(reader, _remote(hub, repo, path))
    assert _same(remote.header, repo.files[path]), "the same header as the file on disk"
    assert remote.read.requests <= 2 and remote.read.bytes_read <= SECOND_READ <= 8_000_000
    assert remote.read.requests == (1 if vocab == "32k" else 2)
    assert len(hub.file_reads()) == remote.read.requests
    assert hub.bytes_sent == remote.read.bytes_read
    # another quant of the same model: one request, sized from the first header
    with _reader(hub) as reader:
        again = read_remote_header(reader, _remote(hub, repo, path), first=sibling_read(remote.header))
    assert again.read.requests == 1 and again.read.bytes_read < remote.header.data_offset + 100_000


def test_the_fake_speaks_range_like_a_server(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add(HubRepo("a/b", {"m.gguf": tiny_gguf(tmp_path / "m.gguf")}))
    url = Hub(hub.url).file_url("a/b", repo.sha, "m.gguf")
    size = repo.files["m.gguf"].stat().st_size
    data = repo.files["m.gguf"].read_bytes()
    with httpx.Client() as client:
        for asked, first, last in [("bytes=0-9", 0, 9), ("bytes=10-", 10, size - 1),
                                   ("bytes=-4", size - 4, size - 1), (f"bytes=5-{size + 99}", 5, size - 1)]:
            r = client.get(url, headers={"Range": asked})
            assert r.status_code == 206 and r.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
            assert r.content == data[first:last + 1]
        r = client.get(url, headers={"Range": f"bytes={size}-"})
        assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{size}"
        assert client.get(url).status_code == 200


def test_a_mirror_that_ignores_range_is_not_downloaded(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add(hollow_repo(tmp_path, "32k"))
    path = next(iter(repo.files))
    size = repo.files[path].stat().st_size
    hub.ignore_range = True
    with _reader(hub) as reader, pytest.raises(DiscoverError) as err:
        read_remote_header(reader, _remote(hub, repo, path), first=1 << 20)
    text = str(err.value)
    assert "the mirror does not support range reads" in text and f"({size:,} bytes)" in text
    assert "huggingface.co" in text
    assert hub.bytes_sent < 64 << 20, "it stopped long before the whole file (socket buffers at most)"


def test_a_small_file_sent_whole_by_such_a_mirror_is_fine(hub: FakeHub, tmp_path: Path) -> None:
    small = write_gguf(tmp_path / "m.gguf", "llama", llama_kv(), llama_tensors())  # less than the first read
    repo = hub.add(HubRepo("a/b", {"m.gguf": small}))
    hub.ignore_range = True
    with _reader(hub) as reader:
        remote = read_remote_header(reader, _remote(hub, repo, "m.gguf"))
    assert _same(remote.header, repo.files["m.gguf"]) and remote.read.requests == 1


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _gguf_start(n_tensors: int, n_kv: int) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv)


def _sparse(path: Path, head: bytes, size: int) -> Path:
    with path.open("wb") as fh:
        fh.write(head)
        fh.truncate(size)
    return path


HOSTILE = {
    "tensor count": (_gguf_start(1 << 60, 0), "claims 1,152,921,504,606,846,976 tensors"),
    "string length": (_gguf_start(0, 1) + _s("general.name") + struct.pack("<IQ", 8, 1 << 40),
                      "more than any real GGUF uses"),
    "vocabulary length": (
        _gguf_start(0, 1) + _s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 1 << 30),
        "more than any real GGUF has"),
    "not a gguf": (b"<html>Sign in</html>", "is not a GGUF file"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_header_over_http_is_a_sentence(hub: FakeHub, tmp_path: Path, case: str) -> None:
    head, message = HOSTILE[case]
    big = _sparse(tmp_path / "evil.gguf", head, 40 << 30)  # claims 40 GB, holds a few bytes
    repo = hub.add(HubRepo("evil/x", {"evil.gguf": big}))
    with _reader(hub) as reader, pytest.raises(ModelFactsError, match=message) as err:
        read_remote_header(reader, _remote(hub, repo, "evil.gguf"))
    assert "evil.gguf" in str(err.value)
    assert len(hub.file_reads()) == 1 and hub.bytes_sent <= 2 << 20


def test_a_truncated_file_over_http_is_a_sentence(hub: FakeHub, tmp_path: Path) -> None:
    whole = tiny_gguf(tmp_path / "whole.gguf")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(whole.read_bytes()[: read_header(whole).data_offset // 2])
    repo = hub.add(HubRepo("a/b", {"cut.gguf": cut}))
    with _reader(hub) as reader, pytest.raises(ModelFactsError, match="truncated"):
        read_remote_header(reader, _remote(hub, repo, "cut.gguf"))


def test_the_token_goes_to_the_hub_but_not_to_its_cdn(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add(HubRepo("a/b", {"m.gguf": tiny_gguf(tmp_path / "m.gguf")}, gated="manual"))
    hub.cdn = True
    with _reader(hub) as reader:
        remote = read_remote_header(reader, _remote(hub, repo, "m.gguf"))
    assert _same(remote.header, repo.files["m.gguf"])
    (_, to_hub), (cdn_path, to_cdn) = hub.file_reads()
    assert header(to_hub, "Authorization") == f"Bearer {TOKEN}"
    assert cdn_path.startswith("/cdn/") and header(to_cdn, "Host").startswith("localhost:")
    assert header(to_cdn, "Authorization") == "", "the token must not leave the Hub's host"
    assert header(to_cdn, "Range") == header(to_hub, "Range")


def test_a_gated_file_without_the_licence_says_so_and_never_the_token(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add(HubRepo("a/b", {"m.gguf": tiny_gguf(tmp_path / "m.gguf")}, gated="manual"))
    hub.token = "hf_a_different_token"  # ours is not the one the stand-in accepts
    with RangeReader(Hub(hub.url, token=TOKEN).headers()) as reader, pytest.raises(GatedFile) as err:
        read_remote_header(reader, _remote(hub, repo, "m.gguf"))
    assert str(err.value).startswith(f"m.gguf: {GATED_NOTE}")
    assert TOKEN not in str(err.value) and TOKEN not in repr(Hub(hub.url, token=TOKEN))


@pytest.mark.parametrize(("status", "message"), [(500, "answered 500 when m.gguf was read"),
                                                 (404, "is not on 127.0.0.1")])
def test_failed_reads_are_sentences(hub: FakeHub, tmp_path: Path, status: int, message: str) -> None:
    repo = hub.add(HubRepo("a/b", {"m.gguf": tiny_gguf(tmp_path / "m.gguf")}))
    hub.fail["/m.gguf"] = status
    with _reader(hub) as reader, pytest.raises(DiscoverError, match=message):
        read_remote_header(reader, _remote(hub, repo, "m.gguf"))


def test_vocabularies_named_in_the_bench_exist() -> None:
    assert set(VOCABULARIES) == {"32k", "128k", "152k", "256k"}
