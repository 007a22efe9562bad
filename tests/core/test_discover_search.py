"""Hub search for GGUF repos through huggingface_hub's session, against the local Hub stand-in."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import pytest

from core.discover.search import search_models
from core.discover.types import GATED_NOTE
from core.errors import DiscoverError
from tests.core.discover_support import hub, hub_for, tiny_gguf
from tests.fakes.fake_hub import FakeHub, HubRepo, header

__all__ = ["hub"]


@pytest.fixture
def repos(hub: FakeHub, tmp_path: Path) -> FakeHub:
    model = tiny_gguf(tmp_path / "m.gguf")
    readme = tmp_path / "README.md"
    readme.write_text("hi")
    specs = [("bartowski/Qwen2.5-7B-Instruct-GGUF", 900, 10, "2025-03-01T10:00:00.000Z"),
             ("unsloth/Qwen3-8B-GGUF", 500, 80, "2025-05-01T10:00:00.000Z"),
             ("someone/qwen-tiny-GGUF", 50, 1, "2025-06-01T10:00:00.000Z"),
             ("bartowski/Llama-3.2-1B-GGUF", 700, 5, "2025-01-01T10:00:00.000Z")]
    for repo_id, downloads, likes, modified in specs:
        hub.add(HubRepo(repo_id, {"model-Q4_K_M.gguf": model}, downloads=downloads, likes=likes,
                        last_modified=modified, gguf={"total": 7_615_616_512, "architecture": "qwen2",
                                                      "context_length": 32768}))
    hub.add(HubRepo("Qwen/Qwen2.5-7B-Instruct", {"README.md": readme}, downloads=10_000))
    hub.add(HubRepo("meta-llama/Qwen-gated-GGUF", {"m-Q4_K_M.gguf": model}, gated="manual", downloads=1))
    return hub


def ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.repo_id for r in page.results]


@pytest.mark.parametrize(("sort", "first"), [("downloads", "bartowski/Qwen2.5-7B-Instruct-GGUF"),
                                             ("likes", "unsloth/Qwen3-8B-GGUF"),
                                             ("recent", "someone/qwen-tiny-GGUF")])
def test_search_finds_gguf_repos_in_the_asked_order(repos: FakeHub, sort: str, first: str) -> None:
    page = search_models("qwen", sort=sort, hub=hub_for(repos))
    assert ids(page)[0] == first
    assert "Qwen/Qwen2.5-7B-Instruct" not in ids(page), "a repo without GGUF files is not a result"
    top = page.results[0]
    assert top.architecture == "qwen2" and top.n_params == 7_615_616_512 and top.context_length == 32768
    query = parse_qs(repos.queries[-1])
    assert query["filter"] == ["gguf"] and "gguf" in query["expand"]


def test_search_pages_with_the_cursor_the_hub_gives(repos: FakeHub) -> None:
    hub = hub_for(repos)
    first = search_models("", limit=2, hub=hub)
    assert len(first.results) == 2 and first.next_cursor is not None
    second = search_models(cursor=first.next_cursor, hub=hub)
    third = search_models(cursor=second.next_cursor, hub=hub) if second.next_cursor else None
    seen = ids(first) + ids(second) + (ids(third) if third else [])
    assert len(seen) == len(set(seen)) == 5
    assert (third or second).next_cursor is None


def test_author_narrows_the_search(repos: FakeHub) -> None:
    page = search_models("", author="bartowski", hub=hub_for(repos))
    assert sorted(ids(page)) == ["bartowski/Llama-3.2-1B-GGUF", "bartowski/Qwen2.5-7B-Instruct-GGUF"]


def test_a_gated_repo_is_a_result_that_says_so(repos: FakeHub) -> None:
    page = search_models("gated", hub=hub_for(repos))
    assert ids(page) == ["meta-llama/Qwen-gated-GGUF"]
    assert page.results[0].gated and page.results[0].note == GATED_NOTE


def test_the_token_goes_to_the_hub_and_the_request_is_huggingface_hubs(repos: FakeHub) -> None:
    search_models("qwen", hub=hub_for(repos))
    _, path, headers = repos.requests[-1]
    assert path == "/api/models"
    assert header(headers, "Authorization") == f"Bearer {repos.token}"
    agent = header(headers, "User-Agent")
    assert agent.startswith("llamadeck/") and "hf_hub/" in agent


def test_a_cursor_for_another_host_is_refused_before_any_request(repos: FakeHub) -> None:
    with pytest.raises(DiscoverError, match="cursor is not one this Hub gave out"):
        search_models(cursor="https://evil.example/api/models?cursor=x", hub=hub_for(repos))
    assert repos.requests == []


@pytest.mark.parametrize(("kwargs", "message"), [({"sort": "size"}, "is not a way to sort"),
                                                 ({"limit": 0}, "A page holds 1 to 100")])
def test_bad_arguments_are_sentences(repos: FakeHub, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DiscoverError, match=message):
        search_models("qwen", hub=hub_for(repos), **kwargs)  # type: ignore[arg-type]


def test_a_failing_hub_is_one_sentence(repos: FakeHub) -> None:
    repos.fail["/api/models"] = 503
    with pytest.raises(DiscoverError) as err:
        search_models("qwen", hub=hub_for(repos))
    assert str(err.value).startswith(f"{repos.url} answered 503 to the search for 'qwen'.")


def test_offline_mode_asks_nothing(repos: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DiscoverError, match="HF_HUB_OFFLINE"):
        search_models("qwen", hub=hub_for(repos))
    assert repos.requests == []
