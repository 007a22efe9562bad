"""The headers of a repo's GGUF files, read in parallel (bounded), from the cache where it has them.

Order of work, for the fewest round trips and bytes: the first model file
not in the cache is read alone (two requests for a big vocabulary), at the
same time as the later parts of split models (small headers, one request
each); then every other model file in one request each, sized from the
first (remote_header.sibling_read). A group is handed back as soon as all
its parts are in, so the caller plans it while the others still download.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.discover.header_cache import HeaderCache
from core.discover.ranges import RangeReader
from core.discover.remote_header import (
    FIRST_READ,
    PART_FIRST_READ,
    RemoteHeader,
    read_remote_header,
    sibling_read,
)
from core.discover.types import GgufGroup, HeaderRead, RemoteFile, RepoListing
from core.errors import LlamadeckError
from core.facts.gguf_header import GGUFHeader

WORKERS = 8

_Slot = tuple[int, int]  # (group index, part index)


@dataclass(frozen=True)
class GroupHeaders:
    """A group's part headers (first part first), or the sentence that says why they could not be read."""

    group: GgufGroup
    headers: tuple[GGUFHeader, ...] | None
    error: str | None
    read: HeaderRead


class _Groups:
    """What has come in so far, per group; a group is done when every part has a header or one failed."""

    def __init__(self, groups: Sequence[GgufGroup]) -> None:
        self.groups = groups
        self.headers: dict[_Slot, GGUFHeader] = {}
        self.errors: dict[int, str] = {}
        self.reads: dict[_Slot, HeaderRead] = {}
        self.handed: set[int] = set()

    def done(self, gi: int) -> GroupHeaders | None:
        group = self.groups[gi]
        if gi in self.handed:
            return None
        slots = [(gi, pi) for pi in range(len(group.parts))]
        if gi not in self.errors and not all(s in self.headers for s in slots):
            return None
        self.handed.add(gi)
        reads = [self.reads.get(s, HeaderRead(cached=True)) for s in slots]
        read = HeaderRead(sum(r.requests for r in reads), sum(r.bytes_read for r in reads),
                          all(r.cached for r in reads))
        if gi in self.errors:
            return GroupHeaders(group, None, self.errors[gi], read)
        return GroupHeaders(group, tuple(self.headers[s] for s in slots), None, read)


def cache_key(listing: RepoListing, part: RemoteFile) -> tuple[str, str, str, str]:
    path = part.path if part.etag is None else f"{part.path}@{part.etag}"
    return urlsplit(listing.endpoint).netloc, listing.repo_id, listing.revision, path


def read_groups(listing: RepoListing, groups: Sequence[GgufGroup], reader: RangeReader, cache: HeaderCache,
                workers: int = WORKERS) -> Iterator[GroupHeaders]:
    """Each group's headers as soon as they are all in (any order). Blocking; reads in `workers` threads."""
    state = _Groups(groups)
    todo: list[_Slot] = []
    for gi, group in enumerate(groups):
        if group.missing:
            n = len(group.parts) + len(group.missing)
            lacks = ", ".join(group.missing)
            state.errors[gi] = f"{group.name} is split into {n} files and the repo lacks {lacks}."
            continue
        for pi, part in enumerate(group.parts):
            cached = cache.get(cache_key(listing, part), part.size)
            if cached is not None:
                state.headers[(gi, pi)] = cached
            else:
                todo.append((gi, pi))
    for gi in range(len(groups)):
        if (ready := state.done(gi)) is not None:
            yield ready
    if todo:
        yield from _fetch(listing, groups, todo, state, reader, cache, workers)


def _fetch(listing: RepoListing, groups: Sequence[GgufGroup], todo: list[_Slot], state: _Groups,
           reader: RangeReader, cache: HeaderCache, workers: int) -> Iterator[GroupHeaders]:
    firsts = [s for s in todo if s[1] == 0]
    known = [state.headers[(gi, 0)] for gi in range(len(groups)) if (gi, 0) in state.headers]
    hint = sibling_read(known[0]) if known else None
    lead = firsts[:1] if hint is None else []
    later = firsts[len(lead):]

    def read(slot: _Slot, first: int) -> RemoteHeader:
        part = groups[slot[0]].parts[slot[1]]
        remote = read_remote_header(reader, part, first=min(first, part.size) if part.size else first)
        cache.put(cache_key(listing, part), remote.header)
        return remote

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="discover") as pool:
        running: dict[Future[RemoteHeader], _Slot] = {pool.submit(read, s, FIRST_READ): s for s in lead}
        running |= {pool.submit(read, s, PART_FIRST_READ): s for s in todo if s[1] > 0}
        if not lead:
            running |= {pool.submit(read, s, hint or FIRST_READ): s for s in later}
            later = []
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                slot = running.pop(future)
                header = _settle(future, slot, state)
                if later and slot in lead:  # the first model file is in: size the others from it
                    first = sibling_read(header) if header is not None else FIRST_READ
                    running |= {pool.submit(read, s, first): s for s in later}
                    later = []
                if (ready := state.done(slot[0])) is not None:
                    yield ready


def _settle(future: Future[RemoteHeader], slot: _Slot, state: _Groups) -> GGUFHeader | None:
    """Record one part's outcome; a LlamadeckError is the group's sentence, anything else a bug that rises."""
    try:
        remote = future.result()
    except LlamadeckError as exc:
        state.errors.setdefault(slot[0], str(exc))
        return None
    state.headers[slot] = remote.header
    state.reads[slot] = remote.read
    return remote.header
