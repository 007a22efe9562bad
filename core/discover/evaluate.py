"""Every GGUF file of a repo planned on a machine from headers read by ranges: does it run, how fast, how far.

Each file's facts come from its header through the same function a file on
disk goes through (core.facts.gguf.facts_from_headers), and its row from the
planner (core.planner.plan) for the quantization its header names
(`general.file_type`), at the asked context and KV type, with the file's
real size. So a file planned here gets the verdict it gets once downloaded.

The planner replays llama-quantize's mix for that quantization; a file made
another way (Unsloth's dynamic UD quants, hand-picked tensor types) weighs
what its tensor table says, and a notice says when the two differ.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from core.discover.header_cache import HeaderCache
from core.discover.hub import Hub
from core.discover.ranges import RangeReader
from core.discover.remote_facts import WORKERS, GroupHeaders, read_groups
from core.discover.types import GATED_NOTE, FileFit, GgufGroup, RepoFit, RepoListing
from core.errors import LlamadeckError, PlannerError
from core.facts.gguf import facts_from_headers
from core.facts.gguf_split import check_split_headers
from core.facts.quants import quant_format
from core.facts.types import ModelFacts
from core.planner.plan import plan
from core.planner.types import MachineSpec
from core.units import format_bytes

MIX_TOLERANCE = 0.02  # tensor bytes that differ by more than this from the replayed mix get a notice
NOT_A_MODEL = {"mmproj": "a vision projector, loaded beside a model (--mmproj), not a model on its own",
               "imatrix": "an importance matrix for quantizing, not a model"}


def evaluate_repo(listing: RepoListing, machine: MachineSpec, *, ctx: int | None = 8192, kv_type: str = "f16",
                  runtime: str = "llama-server", hub: Hub | None = None, cache: HeaderCache | None = None,
                  workers: int = WORKERS, reader: RangeReader | None = None) -> RepoFit:
    """Plan every file of `listing` on `machine`. Blocking: reads headers in `workers` threads.

    `ctx=None` plans llama-server without -c (llama.cpp's fit picks each
    file's context: `row.fit_ctx`). `reader` (tests, a screen that keeps one)
    is used as given and left open; otherwise one is made from `hub`'s headers.
    """
    hub = hub or Hub()
    cache = cache or HeaderCache()
    fits: dict[str, FileFit] = {g.name: FileFit(g, error=f"{g.name} is {NOT_A_MODEL[g.kind]}.")
                                for g in listing.groups if not g.is_model}
    headers = hub.headers() if reader is None else {}
    if listing.gated and reader is None and not _has_token(headers):
        fits |= {g.name: FileFit(g, error=f"{g.name}: {GATED_NOTE}, then set HF_TOKEN.")
                 for g in listing.models}
    else:
        own = reader is None
        active = RangeReader(headers, max_connections=workers) if reader is None else reader
        try:
            for got in read_groups(listing, listing.models, active, cache, workers):
                fits[got.group.name] = fit_group(got, machine, ctx=ctx, kv_type=kv_type, runtime=runtime)
        finally:
            if own:
                active.close()
    return RepoFit(listing, tuple(fits[g.name] for g in listing.groups), machine, ctx, kv_type)


def _has_token(headers: Mapping[str, str]) -> bool:
    return any(k.lower() == "authorization" for k in headers)


def fit_group(got: GroupHeaders, machine: MachineSpec, *, ctx: int | None, kv_type: str,
              runtime: str = "llama-server") -> FileFit:
    """One file's facts and planner row, or its sentence."""
    group = got.group
    if got.headers is None:
        return FileFit(group, error=got.error, read=got.read)
    try:
        headers = list(got.headers)
        if len(headers) > 1:
            check_split_headers(headers, group.parts[0].name)
        facts = facts_from_headers(headers, group.parts[0].name)
        quant = planned_quant(facts, group)
        result = plan(facts, machine, ctx=ctx, kv_type=kv_type, runtime=runtime, quants=(quant,))
    except LlamadeckError as exc:
        return FileFit(group, error=str(exc), read=got.read)
    replayed = result.rows[0]
    row = dataclasses.replace(replayed, file_size=group.size)
    result = dataclasses.replace(result, rows=(row,))
    notices = tuple(n for n in (_mix_notice(facts, replayed.tensor_bytes, quant),) if n)
    return FileFit(group, facts, result, None, got.read, notices)


def planned_quant(facts: ModelFacts, group: GgufGroup) -> str:
    """The quantization to plan: the header's file type, else the name's (without Unsloth's UD- mark)."""
    for candidate in (facts.file_type, (group.quant or "").removeprefix("UD-")):
        if not candidate:
            continue
        try:
            return quant_format(candidate).name
        except PlannerError:
            continue
    said = facts.file_type or group.quant or "not named"
    raise PlannerError(f"{group.name}: its quantization ({said}) is not one llama-quantize makes, so it "
                       "cannot be planned.")


def _mix_notice(facts: ModelFacts, replayed: int, quant: str) -> str | None:
    real = sum(t.n_bytes for t in facts.tensors)
    if not real or abs(real - replayed) <= MIX_TOLERANCE * real:
        return None
    return (f"Its tensors take {format_bytes(real)}, llama-quantize's {quant} mix {format_bytes(replayed)}: "
            f"a custom mix; memory is planned from the standard one.")
