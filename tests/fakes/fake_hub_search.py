"""The Hub's model search (`GET /api/models`) for the local Hub stand-in, as plain functions.

What the real endpoint does and `huggingface_hub` relies on (hf_api.py
`list_models` and utils/_pagination.py, huggingface_hub 2.4.0):

- `search` matches a substring of the repo id, case-insensitively;
  `author` the owner; every `filter` must be a tag of the repo (a repo with a
  .gguf file carries the `gguf` tag, as the Hub adds it).
- `sort` is one of downloads, likes, lastModified, trendingScore, createdAt,
  always descending (`direction=-1`, the only direction the Hub still takes).
- `limit` items a page; the next page is a `Link: <url>; rel="next"` header
  whose URL carries an opaque `cursor`, and the last page has none.
- `expand` names the fields to return; this stand-in returns them all.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

SORT_KEYS = {"downloads", "likes", "lastModified", "trendingScore", "createdAt"}
MAX_LIMIT = 1000


class SearchableRepo(Protocol):
    repo_id: str
    gated: str | bool

    def summary(self) -> dict[str, Any]: ...


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"])


class SearchError(ValueError):
    """A query the real Hub answers with 400."""


def search(repos: Iterable[SearchableRepo], query: Mapping[str, list[str]], base_url: str
           ) -> tuple[list[dict[str, Any]], str | None]:
    """One page of results and the URL of the next page (None on the last)."""
    text = (_first(query, "search") or "").lower()
    author = _first(query, "author")
    filters = query.get("filter", [])
    sort = _first(query, "sort")
    if sort is not None and sort not in SORT_KEYS:
        raise SearchError(f"Invalid sort parameter: {sort}")
    if _first(query, "direction") not in (None, "-1"):
        raise SearchError("direction must be -1")
    limit = min(int(_first(query, "limit") or MAX_LIMIT), MAX_LIMIT)
    found = [r.summary() for r in repos
             if text in r.repo_id.lower()
             and (author is None or r.repo_id.split("/")[0] == author)]
    found = [s for s in found if all(f in s["tags"] for f in filters)]
    if sort is not None:
        found.sort(key=lambda s: (s.get(sort) or 0, s["id"]), reverse=True)
    start = _offset(_first(query, "cursor"))
    page = found[start:start + limit]
    if start + limit >= len(found):
        return page, None
    params = [(k, v) for k, values in query.items() if k != "cursor" for v in values]
    params.append(("cursor", _cursor(start + limit)))
    return page, f"{base_url}/api/models?{urlencode(params)}"
