"""The pre-flight's questions about where the result goes: Ollama, and this machine's memory.

`check_ollama` asks the server whether it answers, whether the name is valid,
whether it already holds the file (a rerun) and whether the import would
replace a model llamadeck did not put there; `fit_check` asks the planner
where the result would run on this machine.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from core.config import Settings
from core.errors import LlamadeckError, OllamaError, PipelineError
from core.facts.types import ModelFacts
from core.hardware.probe import HardwareProbe
from core.ollama.client import OllamaClient
from core.ollama.host import select_host
from core.pipeline.disk import import_size
from core.pipeline.file_digest import cached_digest
from core.pipeline.manifest import imported_as
from core.pipeline.ollama_import import has_blob
from core.pipeline.plan import JobPlan
from core.pipeline.preflight import fail, ok, skip, warn
from core.pipeline.types import JobSpec, PreflightCheck
from core.planner.machine import spec_from_machine_info
from core.planner.plan import plan as make_rows
from core.units import format_bytes_tenths

# Ollama model names: an optional namespace, a name, an optional tag (server/model/name.go, loosely).
_OLLAMA_NAME = re.compile(r"^(?:[A-Za-z0-9][\w.\-]*/)?[A-Za-z0-9][\w.\-]*(?::[\w][\w.\-]{0,127})?$")
FIT_CONTEXT = 4096  # Ollama's default num_ctx and a common llama-server -c


def fit_check(facts: ModelFacts | None, quant: str, settings: Settings, *, runtime: str,
              ctx: int = FIT_CONTEXT) -> PreflightCheck:
    """Where the result would run on this machine, from the planner (blocking: probes the GPUs)."""
    if facts is None or not facts.tensors:
        return skip("fit", "Fit on this machine not checked: the model's tensor table is not known yet.")
    probe = HardwareProbe.from_settings(settings)
    try:
        machine = spec_from_machine_info(probe.machine_info())
    finally:
        probe.close()
    try:
        row = make_rows(facts, machine, ctx=ctx, runtime=runtime, quants=(quant,)).rows[0]
    except LlamadeckError as exc:
        return skip("fit", f"Fit on this machine not checked: {exc}")
    speed = f", about {row.decode_tps:.0f} tokens/s" if row.decode_tps else ""
    where = {
        "gpu": f"fits entirely on the GPU at {ctx} tokens of context{speed}",
        "partial": f"fits partly on the GPU ({row.n_gpu_layers} of {row.n_layers + 1} layers) at {ctx} "
                   f"tokens of context{speed}",
        "cpu": f"runs on the CPU at {ctx} tokens of context{speed}",
    }.get(row.placement)
    if where is None:
        return warn("fit", f"{quant} does not fit in this machine's memory at {ctx} tokens of context; "
                           "pick a smaller quant (`llamadeck plan` shows which fit).")
    return ok("fit", f"{quant} {where} ({runtime}).")


async def check_ollama(plan: JobPlan, spec: JobSpec, settings: Settings, facts: ModelFacts | None,
                        done: frozenset[Path]) -> tuple[list[PreflightCheck], bool, bool]:
    """Ollama answers, the name is valid, and (for a local server) its blob store gets a copy.

    Also says whether the server is remote (then neither its disk nor the fit is this machine's),
    and whether it already holds the file to import (a rerun: its digest is remembered from the
    last import, and Ollama keeps one copy per digest), when no copy is made.
    """
    if "import" not in plan.stages:
        return [skip("ollama", "Not importing into Ollama (--no-import).")], False, False
    name = plan.ollama_name or ""
    out: list[PreflightCheck] = []
    if not _OLLAMA_NAME.match(name):
        out.append(fail("ollama", f"{name!r} is not a valid Ollama model name: use letters, digits, '.', "
                                  "'-' and '_', with an optional :tag."))
    try:
        host = select_host(settings, spec.host)
        async with OllamaClient(host) as client:
            version = await client.version()
            local = client.endpoint.is_loopback
            url = client.url
            try:
                existing = {m.name for m in await client.list_models()}
            except OllamaError:
                existing = set()  # only needed for a warning; the import itself says what goes wrong
            has_copy = False
            if plan.final in done or plan.final == plan.source.path:
                digest = await asyncio.to_thread(cached_digest, plan.final)
                has_copy = digest is not None and await has_blob(client, digest)
    except (OllamaError, PipelineError) as exc:
        return [*out, fail("ollama", str(exc))], False, False
    except Exception as exc:  # a config problem (bad URL) surfaces here as well
        return [*out, fail("ollama", f"Ollama cannot be reached: {str(exc).rstrip('.')}.")], False, False
    copy = f" (it already holds {plan.final.name}: nothing to copy)" if has_copy else ""
    out.append(ok("ollama", f"Ollama {version} at {url} will get the model as {name}{copy}."))
    out.extend(_replacing(plan, url, name, existing))
    if not local and not has_copy:
        size = await asyncio.to_thread(import_size, plan, facts, done)
        out.append(skip("ollama", f"Ollama at {url} is remote: its disk is not checked from here; it needs "
                                  f"{format_bytes_tenths(size) if size else 'a copy of the GGUF'} free in "
                                  "its blob store."))
    return out, not local, has_copy


def _replacing(plan: JobPlan, url: str, name: str, existing: set[str]) -> list[PreflightCheck]:
    """A warning when the import would replace a model this file was not imported as before.

    Two checkpoints in folders of the same name get the same default name; the second import
    replaces the first model in Ollama (its GGUF stays on disk). Said before, not after.
    """
    full = full_model_name(name)
    if full not in existing or (url, full) in imported_as(plan.final):
        return []
    return [warn("ollama", f"Ollama at {url} already has {full}, and llamadeck did not import it from "
                           f"{plan.final.name}: this import replaces it (its GGUF files are not touched). "
                           "Pass --ollama-name to keep both.")]


def full_model_name(name: str) -> str:
    """Ollama's own spelling of a name: with its tag (":latest" when none is given)."""
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"
