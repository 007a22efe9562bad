"""For each search result, the verdict of its most promising file: "find a model that fits this box".

Reading every file of twenty repos would cost hundreds of header reads; one
file a repo is enough to answer the question a results list asks. The file
is the largest that could fit in the GPUs' memory (the most bits that may
run there; on a machine without a GPU, in RAM), else the smallest; its
verdict is exact, from its own header, like any row of `llamadeck files`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from core.discover.evaluate import evaluate_repo
from core.discover.files import list_files
from core.discover.header_cache import HeaderCache
from core.discover.hub import Hub
from core.discover.ranges import RangeReader
from core.discover.remote_facts import WORKERS
from core.discover.types import FileFit, GgufGroup
from core.errors import LlamadeckError
from core.planner.types import MachineSpec

ROOM = 0.9  # of the GPUs' memory (or RAM) a file may take and still leave room for the context


def pick_file(models: Sequence[GgufGroup], machine: MachineSpec) -> GgufGroup:
    """The largest model file that could fit in the GPUs' memory (RAM without a GPU), else the smallest."""
    budget = ROOM * (sum(g.memory for g in machine.gpus) or machine.ram)
    could = [g for g in models if g.size <= budget]
    return max(could, key=lambda g: g.size) if could else min(models, key=lambda g: g.size)


def best_fit(repo_id: str, machine: MachineSpec, *, ctx: int | None, kv_type: str, hub: Hub,
             cache: HeaderCache, reader: RangeReader) -> FileFit:
    """The verdict for `repo_id`'s most promising file (one listing, one header read). Blocking."""
    listing = list_files(repo_id, hub=hub)
    one = dataclasses.replace(listing, groups=(pick_file(listing.models, machine),))
    return evaluate_repo(one, machine, ctx=ctx, kv_type=kv_type, hub=hub, cache=cache, reader=reader,
                         workers=1).fits[0]


def best_fits(repo_ids: Sequence[str], machine: MachineSpec, *, ctx: int | None = 8192, kv_type: str = "f16",
              hub: Hub | None = None, cache: HeaderCache | None = None,
              workers: int = WORKERS) -> dict[str, FileFit | str]:
    """Per repo, its best file's verdict or the sentence that says why there is none; repos in parallel."""
    hub = hub or Hub()
    cache = cache or HeaderCache()

    def one(repo_id: str) -> FileFit | str:
        try:
            return best_fit(repo_id, machine, ctx=ctx, kv_type=kv_type, hub=hub, cache=cache, reader=reader)
        except LlamadeckError as exc:
            return str(exc)

    with RangeReader(hub.headers(), max_connections=workers) as reader, \
            ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="discover") as pool:
        return dict(zip(repo_ids, pool.map(one, repo_ids), strict=True))
