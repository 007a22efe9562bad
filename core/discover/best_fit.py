"""For each search result, the verdict of its best file here: "find a model that fits this box".

Reading every file of twenty repos would cost hundreds of header reads; two
a repo answer the question a results list asks. The smallest model file's
header gives the model's shape, and the planner replays every other quant
of the repo from it (as `llamadeck plan` does for a model's quants); the
file picked is the largest that runs all on the GPU (on a machine without
one: the largest that runs at all), else the smallest. That file's own
header is then read and planned, so the verdict shown is exact, the same as
its row in `llamadeck files`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from core.discover.evaluate import evaluate_repo
from core.discover.files import list_files
from core.discover.header_cache import HeaderCache
from core.discover.hub import Hub
from core.discover.ranges import RangeReader
from core.discover.remote_facts import WORKERS
from core.discover.types import FileFit, GgufGroup, RepoListing
from core.errors import LlamadeckError
from core.facts.quants import quant_format
from core.facts.types import ModelFacts
from core.planner.plan import plan
from core.planner.types import MachineSpec


def pick_file(facts: ModelFacts, models: Sequence[GgufGroup], machine: MachineSpec, *, ctx: int | None,
              kv_type: str) -> GgufGroup:
    """The largest file whose quant (by its name), replayed on `facts`, runs all on the GPU (with no GPU:
    runs at all); else the smallest."""
    goal = {"gpu"} if machine.gpus else {"gpu", "cpu"}
    runs: list[GgufGroup] = []
    for group in models:
        try:
            quant = quant_format((group.quant or "").removeprefix("UD-")).name
            row = plan(facts, machine, ctx=ctx, kv_type=kv_type, quants=(quant,)).rows[0]
        except LlamadeckError:
            continue  # no quant in the name, or one the planner does not know: not a candidate
        if row.placement in goal:
            runs.append(group)
    return max(runs, key=lambda g: g.size) if runs else min(models, key=lambda g: g.size)


def best_fit(repo_id: str, machine: MachineSpec, *, ctx: int | None, kv_type: str, hub: Hub,
             cache: HeaderCache, reader: RangeReader) -> FileFit:
    """The verdict for `repo_id`'s best file here (one listing, at most two header reads). Blocking."""
    listing = list_files(repo_id, hub=hub)
    smallest = min(listing.models, key=lambda g: g.size)
    probe = _one(listing, smallest, machine, ctx, kv_type, hub, cache, reader)
    if probe.facts is None:
        return probe  # unreadable (gated, a broken file): its sentence says why
    chosen = pick_file(probe.facts, listing.models, machine, ctx=ctx, kv_type=kv_type)
    if chosen is smallest:
        return probe
    return _one(listing, chosen, machine, ctx, kv_type, hub, cache, reader)


def _one(listing: RepoListing, group: GgufGroup, machine: MachineSpec, ctx: int | None, kv_type: str,
         hub: Hub, cache: HeaderCache, reader: RangeReader) -> FileFit:
    one = dataclasses.replace(listing, groups=(group,))
    return evaluate_repo(one, machine, ctx=ctx, kv_type=kv_type, hub=hub, cache=cache, reader=reader,
                         workers=1).fits[0]


def best_fits(repo_ids: Sequence[str], machine: MachineSpec, *, ctx: int | None = 8192, kv_type: str = "f16",
              hub: Hub | None = None, cache: HeaderCache | None = None, workers: int = WORKERS,
              each: Callable[[str, FileFit | str], None] | None = None) -> dict[str, FileFit | str]:
    """Per repo, its best file's verdict or the sentence that says why there is none; repos in parallel.

    `each(repo_id, verdict)` is called as each repo is done (in a worker thread), so a screen can
    show the first verdicts while the slow repos are still being read.
    """
    hub = hub or Hub()
    cache = cache or HeaderCache()

    def one(repo_id: str) -> FileFit | str:
        found: FileFit | str
        try:
            found = best_fit(repo_id, machine, ctx=ctx, kv_type=kv_type, hub=hub, cache=cache, reader=reader)
        except LlamadeckError as exc:
            found = str(exc)
        if each is not None:
            each(repo_id, found)
        return found

    with RangeReader(hub.headers(), max_connections=workers) as reader, \
            ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="discover") as pool:
        return dict(zip(repo_ids, pool.map(one, repo_ids), strict=True))
