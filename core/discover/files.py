"""A Hub repo's GGUF files with their sizes, at one commit, grouped (core.discover.variants).

One request: `HfApi.model_info(files_metadata=True)` (`/api/models/{repo}
?blobs=true`) gives the commit sha, whether the repo is gated, and every
file with its size (the LFS size for weights), where a tree listing would
need a second request for the sha. The sha, not the branch, is what the
header reads and the header cache use, so a push between them cannot mix two
versions of a file.
"""

from __future__ import annotations

from core.discover.hub import API_TIMEOUT, Hub
from core.discover.types import RemoteFile, RepoListing
from core.discover.variants import group_files
from core.errors import DiscoverError
from core.facts.hf_hub import looks_like_repo_id


def check_repo_id(repo_id: str) -> str:
    text = repo_id.strip()
    if not looks_like_repo_id(text):
        raise DiscoverError(f"{text!r} is not a Hub repo id.", hint="Write it as owner/name, for example "
                            "bartowski/Qwen2.5-7B-Instruct-GGUF.")
    return text


def list_files(repo_id: str, *, revision: str | None = None, hub: Hub | None = None) -> RepoListing:
    """The GGUF files of `repo_id` at `revision` (default: the main branch's commit). Blocking."""
    hub = hub or Hub()
    repo_id = check_repo_id(repo_id)
    hub.check_online()
    try:
        info = hub.api().model_info(repo_id, revision=revision, files_metadata=True, timeout=API_TIMEOUT)
    except Exception as exc:  # huggingface_hub and httpx raise many kinds; all become a sentence
        raise hub.error(repo_id, exc) from None
    sha = info.sha or revision or "main"
    files: list[RemoteFile] = []
    others = 0
    for sibling in info.siblings or ():
        path = sibling.rfilename
        if not path.endswith(".gguf"):
            others += 1
            continue
        size = sibling.lfs.size if sibling.lfs is not None else sibling.size
        files.append(RemoteFile(path, int(size or 0), hub.file_url(repo_id, sha, path)))
    listing = RepoListing("hf", hub.url, repo_id, sha, bool(info.gated), group_files(files), others)
    return checked(listing)


def checked(listing: RepoListing) -> RepoListing:
    """The listing, or a sentence when it has no GGUF model to plan."""
    if listing.models:
        return listing
    where = f"{listing.repo_id} on {listing.endpoint}"
    if listing.groups:
        kinds = sorted({g.kind for g in listing.groups})
        raise DiscoverError(f"{where} has GGUF files, but no model among them (only {', '.join(kinds)}).",
                            hint="Its model files may be in another repo the model card names.")
    raise DiscoverError(f"{where} has no GGUF files.",
                        hint="Search for a repo with GGUF files (llamadeck search), or convert this one with "
                             "`llamadeck convert`.")
