"""Search the Hub for GGUF repos, one page at a time.

The request is the one `HfApi.list_models(filter="gguf", search=..., sort=...,
author=..., limit=..., expand=[...])` sends (hf_api.py, huggingface_hub
2.4.0), made here page by page because list_models hides the page boundary:
the Hub pages with a `Link: <url>; rel="next"` header (utils/_pagination.py),
and that URL is the cursor a caller hands back for the next page. A cursor
is only ever sent to the endpoint it came from, so a made-up one cannot carry
the token elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from core.discover.hub import API_TIMEOUT, Hub
from core.discover.types import SORTS, RepoSummary, SearchPage
from core.errors import DiscoverError

# our names -> the Hub's sort keys (it sorts them descending)
HUB_SORTS = {"downloads": "downloads", "likes": "likes", "recent": "lastModified",
             "trending": "trendingScore"}
EXPAND = ("downloads", "likes", "lastModified", "gated", "gguf", "tags")
MAX_LIMIT = 100  # a page; the Hub allows more, a screen shows fewer


def search_models(query: str = "", *, sort: str = "downloads", limit: int = 20, author: str | None = None,
                  cursor: str | None = None, hub: Hub | None = None) -> SearchPage:
    """One page of GGUF repos matching `query`; pass `next_cursor` back for the next page. Blocking."""
    hub = hub or Hub()
    if sort not in HUB_SORTS:
        raise DiscoverError(f"{sort!r} is not a way to sort the Hub's models.",
                            hint=f"Use one of {', '.join(SORTS)}.")
    if not 1 <= limit <= MAX_LIMIT:
        raise DiscoverError(f"A page holds 1 to {MAX_LIMIT} models, not {limit}.")
    hub.check_online()
    if cursor is not None:
        _check_cursor(cursor, hub)
        url, params = cursor, None
    else:
        url, params = f"{hub.url}/api/models", _params(query, sort, limit, author)
    from huggingface_hub import get_session, hf_raise_for_status  # here: huggingface_hub costs start-up time

    try:
        response = get_session().get(url, params=params, headers=hub.headers(), timeout=API_TIMEOUT)
        hf_raise_for_status(response)
        items = response.json()
    except Exception as exc:  # huggingface_hub, httpx and json raise many kinds; all become a sentence
        raise _search_error(hub, query, exc) from None
    if not isinstance(items, list):
        raise DiscoverError(f"{hub.url} answered the model search with something that is not a list.",
                            hint="HF_ENDPOINT may point at a site that is not a Hub mirror.")
    link = response.links.get("next", {}).get("url")
    results = tuple(summary for item in items if (summary := repo_summary(item)) is not None)
    return SearchPage(results, str(link) if link else None, hub.url)


def _params(query: str, sort: str, limit: int, author: str | None) -> list[tuple[str, Any]]:
    params: list[tuple[str, Any]] = [("filter", "gguf"), ("sort", HUB_SORTS[sort]), ("limit", limit)]
    if query.strip():
        params.append(("search", query.strip()))
    if author:
        params.append(("author", author))
    params += [("expand", e) for e in EXPAND]
    return params


def _check_cursor(cursor: str, hub: Hub) -> None:
    here, there = urlsplit(hub.url), urlsplit(cursor)
    if (there.scheme, there.netloc) != (here.scheme, here.netloc) or not there.path.endswith("/api/models"):
        raise DiscoverError("That page cursor is not one this Hub gave out.",
                            hint="Search again from the first page.")


def _search_error(hub: Hub, query: str, exc: Exception) -> DiscoverError:
    from huggingface_hub import errors

    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        return DiscoverError(f"{hub.url} answered {status or 'an error'} to the search for {query!r}.",
                             hint="Try again later, or set HF_ENDPOINT to a mirror.")
    return hub.error(f"models matching {query!r}", exc)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def repo_summary(item: Mapping[str, Any]) -> RepoSummary | None:
    """A search result (or model info) as the Hub's JSON has it; None for an entry without an id."""
    repo_id = item.get("id") or item.get("modelId")
    if not isinstance(repo_id, str):
        return None
    raw_gguf, raw_tags = item.get("gguf"), item.get("tags")
    gguf: Mapping[str, Any] = raw_gguf if isinstance(raw_gguf, Mapping) else {}
    tags: list[Any] = raw_tags if isinstance(raw_tags, list) else []
    arch = gguf.get("architecture")
    return RepoSummary(
        repo_id=repo_id,
        downloads=_int(item.get("downloads")),
        likes=_int(item.get("likes")),
        last_modified=_date(item.get("lastModified")),
        gated=bool(item.get("gated")),
        architecture=arch if isinstance(arch, str) else None,
        n_params=_int(gguf.get("total")),
        context_length=_int(gguf.get("context_length")),
        tags=tuple(t for t in tags if isinstance(t, str)),
    )
