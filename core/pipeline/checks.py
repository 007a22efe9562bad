"""The pre-flight of one job, and the download that turns a Hub repo into a local folder.

`core.pipeline.preflight` and `core.pipeline.tools` have the individual checks;
this module decides which ones a given plan needs, asks `core.pipeline.disk` for
the bytes each stage will write and where, and `core.pipeline.ollama_checks`
whether Ollama is there (and already holds the file to import) and where the
result would run.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.config import Settings
from core.errors import ModelFactsError, PipelineError
from core.facts.gguf import facts_from_config, facts_from_gguf, facts_from_hf_dir
from core.facts.hf_checkpoint import read_json
from core.facts.quants import quant_format
from core.facts.types import ModelFacts
from core.pipeline import hf_download
from core.pipeline.disk import disk_writes, finished_outputs, predicted_size
from core.pipeline.ollama_checks import check_ollama, fit_check
from core.pipeline.plan import JobPlan, OutputRecipes, make_plan, place_outputs, with_source
from core.pipeline.preflight import check_disk, check_out_dir, check_shards, disk_needs, fail, ok, skip, warn
from core.pipeline.progress import ProgressMeter
from core.pipeline.tools import ToolPaths, check_architecture, check_converter, check_quantize
from core.pipeline.types import DiskNeed, HfFile, HfRepoListing, JobSpec, ModelSource, PreflightCheck
from core.units import format_bytes_tenths, plural


@dataclass(frozen=True)
class PreflightReport:
    plan: JobPlan
    checks: tuple[PreflightCheck, ...]
    disk: tuple[DiskNeed, ...]
    facts: ModelFacts | None
    listing: HfRepoListing | None = None
    files: tuple[HfFile, ...] = ()


async def run_preflight(plan: JobPlan, spec: JobSpec, settings: Settings, tools: ToolPaths,
                        facts: ModelFacts | None, recipes: OutputRecipes | None = None) -> PreflightReport:
    checks: list[PreflightCheck] = []
    listing: HfRepoListing | None = None
    files: tuple[HfFile, ...] = ()
    download_bytes = 0
    source = plan.source
    if source.kind == "hf-repo":
        listing, files, facts, download_bytes = await asyncio.to_thread(
            _check_repo, source, spec, settings, tools, checks)
        if facts is not None and plan.outtype != "":
            # `--outtype auto` is decided by the checkpoint's dtype, now known.
            plan = make_plan(spec, settings, source, facts=facts)
        if listing is not None and files and download_bytes == 0 and not any(c.failed for c in checks):
            # All in the cache already (a rerun): its outputs can be named and checked now.
            plan, recipes = await asyncio.to_thread(_place_cached, plan, spec, tools, listing, settings,
                                                    checks)
    elif source.kind == "hf-dir":
        facts = await asyncio.to_thread(_check_dir, source, tools, checks, facts)
    else:
        _check_gguf(plan, facts, checks)

    if "convert" in plan.stages or "quantize" in plan.stages:
        checks.append(await asyncio.to_thread(check_out_dir, plan.out_dir))
    if "convert" in plan.stages:
        checks.append(await asyncio.to_thread(check_converter, tools.convert_python, tools.convert_script,
                                              python_from=tools.convert_python_from))
    if "quantize" in plan.stages:
        checks.append(await asyncio.to_thread(check_quantize, tools.quantize, plan.quant))
        checks.extend(_check_quant(plan, spec, facts))
    done = await asyncio.to_thread(finished_outputs, plan, recipes)
    ollama_checks, remote, has_copy = await check_ollama(plan, spec, settings, facts, done)
    checks.extend(ollama_checks)
    blob = "import" in plan.stages and not remote and not has_copy
    writes = disk_writes(plan, settings, facts, download_bytes, done, blob=blob)
    final_quant = plan.quant or plan.converted_file_type or (facts.file_type if facts is not None else None)
    if remote:
        checks.append(skip("fit", "The model runs on a remote Ollama: fit on this machine is not checked."))
    elif final_quant is not None:
        runtime = "ollama" if "import" in plan.stages else "llama-server"
        checks.append(await asyncio.to_thread(fit_check, facts, final_quant, settings, runtime=runtime))
    disk = await asyncio.to_thread(disk_needs, writes)
    checks.extend(check_disk(disk))
    return PreflightReport(plan, tuple(checks), disk, facts, listing, files)


# --------------------------------------------------------------------------- sources


def _check_repo(source: ModelSource, spec: JobSpec, settings: Settings, tools: ToolPaths,
                checks: list[PreflightCheck]) -> tuple[HfRepoListing | None, tuple[HfFile, ...],
                                                       ModelFacts | None, int]:
    assert source.repo_id is not None
    try:
        listing = hf_download.list_repo(source.repo_id, source.revision)
        files = hf_download.select_files(listing, spec.include)
    except PipelineError as exc:
        checks.append(fail("source", str(exc)))
        return None, (), None, 0
    if any(f.path.endswith(".gguf") for f in files):
        checks.append(fail("source", f"The files chosen from {listing.repo_id} are GGUFs; llamadeck converts "
                                     "checkpoints from the Hub. Download the GGUF (`hf download REPO FILE`) "
                                     "and pass its path."))
        return listing, files, None, 0
    todo = [f for f in files if not _cached(listing, f, settings.hf_cache_dir)]
    to_fetch = sum(f.size or 0 for f in todo)
    total = sum(f.size or 0 for f in files)
    gate = ""
    if listing.gated:
        if not (os.environ.get("HF_TOKEN") or _stored_token()):
            checks.append(fail("source", f"{listing.repo_id} is gated: accept its licence at "
                                         f"{listing.endpoint}/{listing.repo_id}, then set HF_TOKEN "
                                         "(or run `hf auth login`)."))
            return listing, files, None, to_fetch
        gate = " (gated; your token is used)"
    checks.append(ok("source", f"{listing.repo_id} at {listing.revision[:12]}: {plural(len(files), 'file')}, "
                               f"{format_bytes_tenths(total)}; {format_bytes_tenths(to_fetch)} to download"
                               f"{gate}."))
    cache = settings.hf_cache_dir
    try:
        index_path = hf_download.fetch_small(listing, "model.safetensors.index.json", cache)
        if index_path is not None:
            missing = hf_download.missing_shards(listing, read_json(index_path, "safetensors index"))
            if missing:
                checks.append(fail("shards", f"The repo's index names {len(missing)} weight file(s) the "
                                             f"repo does not have: {', '.join(missing)}. The upload is "
                                             "incomplete; pick another revision or repo."))
        config_path = hf_download.fetch_small(listing, "config.json", cache)
    except (PipelineError, ModelFactsError) as exc:
        checks.append(fail("source", str(exc)))
        return listing, files, None, to_fetch
    if config_path is None:
        checks.append(fail("source", f"{listing.repo_id} has no config.json, so it is not a checkpoint."))
        return listing, files, None, to_fetch
    config = read_json(config_path, "model config")
    checks.append(check_architecture(config, tools.convert_script))
    try:
        facts: ModelFacts | None = facts_from_config(source.name, config, source="hf")
    except ModelFactsError as exc:
        checks.append(warn("source", f"Sizes are estimates: {exc}"))
        facts = None
    return listing, files, facts, to_fetch


def _place_cached(plan: JobPlan, spec: JobSpec, tools: ToolPaths, listing: HfRepoListing, settings: Settings,
                  checks: list[PreflightCheck]) -> tuple[JobPlan, OutputRecipes | None]:
    from huggingface_hub import try_to_load_from_cache  # here: huggingface_hub costs start-up time

    config = try_to_load_from_cache(listing.repo_id, "config.json", cache_dir=settings.hf_cache_dir,
                                    revision=listing.revision)
    if not isinstance(config, str):
        return plan, None
    local = with_source(plan, ModelSource(kind="hf-dir", name=plan.source.name, path=Path(config).parent))
    try:
        placed, recipes = place_outputs(local, spec, tools)
    except PipelineError as exc:
        checks.append(fail("output", str(exc)))
        return plan, None
    return replace(plan, converted=placed.converted, final=placed.final), recipes


def _cached(listing: HfRepoListing, f: HfFile, cache_dir: Path) -> bool:
    from huggingface_hub import try_to_load_from_cache  # here: huggingface_hub costs start-up time

    found = try_to_load_from_cache(listing.repo_id, f.path, cache_dir=cache_dir, revision=listing.revision)
    return isinstance(found, str) and (f.size is None or Path(found).stat().st_size == f.size)


def _stored_token() -> str | None:
    from huggingface_hub import get_token  # here: huggingface_hub costs start-up time

    try:
        return get_token()
    except Exception:  # a broken token file means "no token", which the check then says
        return None


def _check_dir(source: ModelSource, tools: ToolPaths, checks: list[PreflightCheck],
               facts: ModelFacts | None) -> ModelFacts | None:
    assert source.path is not None
    shards = check_shards(source.path)
    checks.append(shards)
    try:
        config = read_json(source.path / "config.json", "model config")
    except ModelFactsError as exc:
        checks.append(fail("source", str(exc)))
        return None
    checks.append(check_architecture(config, tools.convert_script))
    if shards.failed:
        return None
    if facts is None:
        try:
            facts = facts_from_hf_dir(source.path)
        except ModelFactsError as exc:
            checks.append(warn("source", f"Sizes are estimates: {exc}"))
    return facts


def _check_gguf(plan: JobPlan, facts: ModelFacts | None, checks: list[PreflightCheck]) -> None:
    source = plan.source
    if facts is None:
        assert source.path is not None
        try:
            facts_from_gguf(source.path)
        except ModelFactsError as exc:
            checks.append(fail("source", str(exc)))
            return
    kind = facts.file_type if facts is not None else None
    parts = f", {len(source.parts)} parts" if len(source.parts) > 1 else ""
    checks.append(ok("source", f"{source.label}: a {kind or 'GGUF'} model{parts}."))
    if "quantize" in plan.stages and kind is not None and kind not in ("F32", "F16", "BF16", "Q8_0"):
        checks.append(fail("source", f"{source.path} is already quantized ({kind}); quantizing it again to "
                                     f"{plan.quant} loses quality. Start from the F16/BF16 GGUF or the "
                                     "Hugging Face checkpoint."))
    if "quantize" not in plan.stages and "import" in plan.stages and len(source.parts) > 1:
        checks.append(fail("source", "Ollama imports single-file GGUFs and this one is split. Quantize it "
                                     "(pass --quant) or merge it with `llama-gguf-split --merge` first."))


# --------------------------------------------------------------------------- quant and sizes


def _check_quant(plan: JobPlan, spec: JobSpec, facts: ModelFacts | None) -> list[PreflightCheck]:
    assert plan.quant is not None
    out: list[PreflightCheck] = []
    fmt = quant_format(plan.quant)
    if spec.imatrix is not None and not spec.imatrix.is_file():
        out.append(fail("quant", f"The importance matrix {spec.imatrix} does not exist."))
    elif fmt.needs_imatrix and spec.imatrix is None:
        out.append(fail("quant", f"{plan.quant} needs an importance matrix: pass --imatrix FILE "
                                 "(made with llama-imatrix), or pick a K-quant such as Q4_K_M."))
    if plan.allow_requantize:
        out.append(warn("quant", f"Quantizing from Q8_0 to {plan.quant} (requantizing) loses a little more "
                                 "quality than starting from F16/BF16."))
    size = predicted_size(facts, plan.quant, imatrix=spec.imatrix is not None or None)
    if size is not None and facts is not None and facts.n_params:
        bpw = size * 8 / facts.n_params
        out.append(ok("quant", f"{plan.quant}: {format_bytes_tenths(size)} predicted "
                               f"({bpw:.2f} bits/weight)."))
    else:
        out.append(skip("quant", f"{plan.quant}: the size cannot be predicted before the checkpoint's "
                                 "tensor table is known."))
    return out


# --------------------------------------------------------------------------- download


async def download_source(
    plan: JobPlan,
    listing: HfRepoListing,
    files: tuple[HfFile, ...],
    settings: Settings,
    meter: ProgressMeter,
    log: Callable[[str], None],
) -> tuple[JobPlan, ModelFacts | None, bool]:
    """Fetch and verify the checkpoint; the plan comes back with the local folder as its source."""
    cache = settings.hf_cache_dir
    skipped = await asyncio.to_thread(lambda: all(_cached(listing, f, cache) for f in files))
    snapshot = await hf_download.download(listing, files, cache, meter, log)
    await hf_download.verify(snapshot, files, meter, log)
    shards = await asyncio.to_thread(check_shards, snapshot)
    if shards.failed:
        raise PipelineError(shards.message)
    facts: Any = None
    try:
        facts = await asyncio.to_thread(facts_from_hf_dir, snapshot)
    except ModelFactsError as exc:
        log(f"Sizes stay estimates: {exc}")
    local = ModelSource(kind="hf-dir", name=plan.source.name, path=snapshot)
    return with_source(plan, local), facts, skipped
