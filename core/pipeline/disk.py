"""What a job writes, where, and when it deletes it again: the pre-flight's disk estimate.

Each output is sized from what its stage really writes: the converter's GGUF from
the tensor table at the outtype (norms and 1-D tensors stay F32) plus the planner's
header estimate; the quantized file from the planner (exact for a GGUF source);
Ollama's blob as a copy of the file imported. Outputs already made by this job's
recipe (`core.pipeline.manifest`) write nothing. `core.pipeline.preflight.disk_needs` turns
these writes into each filesystem's peak.
"""

from __future__ import annotations

from pathlib import Path

from core.config import Settings
from core.errors import LlamadeckError
from core.facts.ggml_types import tensor_bytes
from core.facts.types import ModelFacts
from core.pipeline.manifest import problem
from core.pipeline.plan import JobPlan, OutputRecipes
from core.pipeline.preflight import DiskWrite
from core.planner.plan import file_size
from core.planner.weights import gguf_overhead


def predicted_size(facts: ModelFacts | None, quant: str | None, *, imatrix: bool | None = None) -> int | None:
    """The planner's size of `facts` quantized as `quant`: exact from a GGUF's facts (its header
    is known), within the header estimate from a checkpoint's. None when there is nothing to
    replay (no tensor table)."""
    if facts is None or quant is None or not facts.tensors:
        return None
    try:
        return file_size(facts, quant, imatrix=imatrix)
    except LlamadeckError:
        return None


def converted_size(facts: ModelFacts | None, outtype: str) -> int | None:
    """What the converter writes: each tensor at the outtype, as the converter picks it, plus the header.

    The converter keeps 1-D tensors and norms in F32 and writes every other tensor at the outtype,
    whatever the checkpoint's own dtype: an F32 checkpoint's F16 GGUF is half its size. The header
    (vocabulary, metadata, tensor infos) is the planner's estimate, the one its file sizes use.
    """
    if facts is None or not facts.tensors:
        return None
    total = gguf_overhead(facts)[0]
    for t in facts.tensors:
        if len(t.shape) < 2 or t.name.endswith("_norm.weight") or outtype == "f32":
            kind = "F32"
        elif outtype == "q8_0" and t.shape[0] % 32 == 0:
            kind = "Q8_0"
        else:
            kind = "BF16" if outtype == "bf16" else "F16"
        total += -(-tensor_bytes(kind, t.shape) // 32) * 32  # each tensor's data is aligned to 32 bytes
    return total


def finished_outputs(plan: JobPlan, recipes: OutputRecipes | None) -> frozenset[Path]:
    """The outputs already there, made by this plan's recipe: they are skipped and write nothing."""
    if recipes is None:
        return frozenset()
    done = set()
    if plan.converted is not None and recipes.convert is not None and \
            problem(plan.converted, recipes.convert, plan.converted_file_type) is None:
        done.add(plan.converted)
    if plan.quant is not None and recipes.quantize is not None and \
            problem(plan.final, recipes.quantize, plan.quant) is None:
        done.add(plan.final)
    return frozenset(done)


def disk_writes(plan: JobPlan, settings: Settings, facts: ModelFacts | None, download_bytes: int,
                done: frozenset[Path], *, blob: bool) -> list[DiskWrite]:
    """Every file the job will write, the stage that writes it and when it is deleted again.

    Sizes: the download as listed; the converted GGUF from the tensor table (`converted_size`);
    the quantized one from the planner (exact for a GGUF source); Ollama's blob is a copy of the
    file imported. Outputs already made by this recipe write nothing.
    """
    writes: list[DiskWrite] = []
    if download_bytes:
        writes.append(DiskWrite("download", settings.hf_cache_dir, download_bytes, "download"))
    writes += _output_writes(plan, facts, done)
    size = import_size(plan, facts, done)
    if blob and size is not None:
        writes.append(DiskWrite("Ollama blob copy", settings.ollama_models_dir, size, "import"))
    return writes


def _output_writes(plan: JobPlan, facts: ModelFacts | None, done: frozenset[Path]) -> list[DiskWrite]:
    writes: list[DiskWrite] = []
    skipped_convert = plan.final in done and plan.delete_converted  # the quantized file is all it is for
    if plan.converted is not None and plan.converted not in done and not skipped_convert:
        size = converted_size(facts, plan.outtype)
        if size is not None:
            removed = "quantize" if plan.delete_converted and plan.quant is not None else None
            what = f"{plan.converted_file_type} GGUF"
            writes.append(DiskWrite(what, plan.out_dir, size, "convert", removed))
    if plan.quant is not None and plan.final not in done:
        size = _quantized_size(plan, facts)
        if size is not None:
            writes.append(DiskWrite(f"{plan.quant} GGUF", plan.out_dir, size, "quantize"))
    return writes


def _quantized_size(plan: JobPlan, facts: ModelFacts | None) -> int | None:
    return predicted_size(facts, plan.quant) or converted_size(facts, plan.outtype)


def import_size(plan: JobPlan, facts: ModelFacts | None, done: frozenset[Path]) -> int | None:
    """The bytes of the file the job imports: the file itself when it is there, else its estimate."""
    if plan.final in done or (plan.source.kind == "gguf" and plan.final == plan.source.path):
        return sum(p.stat().st_size for p in plan.source.parts) if plan.final == plan.source.path \
            else plan.final.stat().st_size
    if plan.quant is not None:
        return _quantized_size(plan, facts)
    return converted_size(facts, plan.outtype) if plan.converted is not None else None
