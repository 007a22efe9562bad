"""ModelScope as a second source of GGUF repos: its file list with sizes, and range reads of its files.

ModelScope's API (as its own client uses it, modelscope/hub/api.py and
file_download.py): `GET {endpoint}/api/v1/models/{owner}/{name}/repo/files
?Revision=master&Recursive=true` answers `{"Data": {"Files": [{"Path",
"Type", "Size", "Sha256", ...}]}}`, and a file's bytes are at
`/api/v1/models/{owner}/{name}/repo?Revision=...&FilePath=...`, which
redirects large files to a CDN that answers `Range` (ModelScope's own
downloader resumes and splits downloads with it). So a ModelScope repo
is listed and its headers read like a Hub repo's; the header cache keys on
each file's sha256, since a branch name does not pin the content.

Not done: search. ModelScope's web search is an undocumented `PUT
/api/v1/dolphin/models` whose body and answer are not a public API, so
`llamadeck search` asks the Hugging Face Hub only. Gated repos and tokens
(ModelScope's login cookie) are not handled: public repos only.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from core.discover.files import check_repo_id, checked
from core.discover.hub import API_TIMEOUT
from core.discover.types import RemoteFile, RepoListing
from core.discover.variants import group_files
from core.errors import DiscoverError
from core.redact import redact

DEFAULT_ENDPOINT = "https://www.modelscope.cn"


def modelscope_endpoint() -> str:
    """MODELSCOPE_ENDPOINT (as ModelScope's client reads it), else modelscope.cn."""
    return (os.environ.get("MODELSCOPE_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def file_url(endpoint: str, repo_id: str, revision: str, path: str) -> str:
    query = urlencode({"Revision": revision, "FilePath": path})
    return f"{endpoint}/api/v1/models/{quote(repo_id)}/repo?{query}"


def list_modelscope_files(repo_id: str, *, revision: str | None = None,
                          endpoint: str | None = None) -> RepoListing:
    """The GGUF files of a ModelScope repo at `revision` (default: master). Blocking."""
    repo_id = check_repo_id(repo_id)
    base = (endpoint or modelscope_endpoint()).rstrip("/")
    rev = revision or "master"
    url = f"{base}/api/v1/models/{quote(repo_id)}/repo/files"
    try:
        r = httpx.get(url, params={"Revision": rev, "Recursive": "true"}, timeout=API_TIMEOUT,
                      follow_redirects=True)
    except httpx.HTTPError as exc:
        raise DiscoverError(f"Could not reach {base} to list {repo_id}: {redact(str(exc)).rstrip('.')}.",
                            hint="Check the network, or set MODELSCOPE_ENDPOINT.") from None
    files = _files(r, repo_id, base)
    remote: list[RemoteFile] = []
    others = 0
    for f in files:
        path = f.get("Path")
        if not isinstance(path, str) or f.get("Type") == "tree":
            continue
        if not path.endswith(".gguf"):
            others += 1
            continue
        size, sha = f.get("Size"), f.get("Sha256")
        url = file_url(base, repo_id, rev, path)
        remote.append(RemoteFile(path, size if isinstance(size, int) else 0, url,
                                 sha if isinstance(sha, str) else None))
    return checked(RepoListing("modelscope", base, repo_id, rev, False, group_files(remote), others))


def _files(r: httpx.Response, repo_id: str, base: str) -> list[dict[str, Any]]:
    if r.status_code == 404:
        raise DiscoverError(f"There is no model {repo_id} on {base}, or it is private.",
                            hint="Check the spelling (ModelScope names are owner/name, like the Hub's).")
    body: Any = None
    files: Any = None
    try:
        body = r.json()
        files = body["Data"]["Files"]
    except (ValueError, KeyError, TypeError):
        pass  # said below, with the status
    if r.status_code != 200 or not isinstance(files, list):
        said = body.get("Message") if isinstance(body, dict) else None
        raise DiscoverError(f"{base} answered {r.status_code} to the file list of {repo_id}"
                            + (f": {redact(str(said))}" if said else "") + ".",
                            hint="Try again later, or check MODELSCOPE_ENDPOINT.")
    return [f for f in files if isinstance(f, dict)]
