"""What a job will do, worked out before it does anything: stages, file names, sizes.

Kept apart from running the job so the CLI, the jobs screen and the tests can
ask "what would `convert X --quant Q4_K_M` write, and where?" without side
effects. File names carry the model and the type ("Qwen2.5-7B-F16.gguf",
"Qwen2.5-7B-Q4_K_M.gguf"); `place_outputs` then reads the source's fingerprints
and keeps those names unless another source's file holds them (see
`core.pipeline.manifest`). The record beside each output, not its name, is what
lets a rerun skip the work a previous run finished.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from core import paths
from core.config import Settings
from core.errors import PipelineError, PlannerError
from core.facts.quants import quant_format
from core.facts.types import ModelFacts
from core.pipeline.manifest import (
    MANIFEST_SUFFIX,
    Recipe,
    checkpoint_files,
    convert_recipe,
    digest,
    mismatch,
    place,
    quantize_recipe,
    source_identity,
)
from core.pipeline.ollama_import import default_model_name
from core.pipeline.stages import OUTTYPE_FILE_TYPES, OUTTYPES
from core.pipeline.tools import ToolPaths
from core.pipeline.types import JobSpec, ModelSource

# Types llama-quantize takes as input without --allow-requantize.
UNQUANTIZED = frozenset({"F32", "F16", "BF16"})


@dataclass(frozen=True)
class JobPlan:
    source: ModelSource
    stages: tuple[str, ...]
    quant: str | None  # normalised ("Q4_K_M"); None: no quantize stage
    outtype: str  # resolved converter outtype ("f16", "bf16", ...); "" for a GGUF source
    out_dir: Path
    converted: Path | None  # the converter's output; None for a GGUF source
    final: Path  # the GGUF that is imported / kept
    ollama_name: str | None
    allow_requantize: bool = False
    delete_converted: bool = False  # the converted file is an intermediate the user did not ask to keep

    @property
    def converted_file_type(self) -> str | None:
        return OUTTYPE_FILE_TYPES.get(self.outtype)


def default_out_dir(settings: Settings) -> Path:
    """The first configured GGUF folder (the model browser lists it), else llamadeck's data dir."""
    return settings.gguf_dirs[0] if settings.gguf_dirs else paths.data_dir() / "models"


def normalise_quant(quant: str | None) -> str | None:
    if quant is None or not quant.strip():
        return None
    try:
        return quant_format(quant).name
    except PlannerError as exc:
        raise PipelineError(str(exc)) from None


def resolve_outtype(outtype: str, facts: ModelFacts | None) -> str:
    """The converter's `auto` made explicit, as the converter decides it: f16 stays f16, else bf16."""
    key = outtype.strip().lower()
    if key not in OUTTYPES:
        raise PipelineError(f"--outtype {outtype!r} is not one the converter takes; use "
                            f"{', '.join(OUTTYPES)}.")
    if key != "auto":
        return key
    if facts is not None and facts.file_type == "F16":
        return "f16"
    if facts is not None and facts.file_type == "F32":
        return "f32"
    return "bf16"


def make_plan(spec: JobSpec, settings: Settings, source: ModelSource, *,
              source_file_type: str | None = None, facts: ModelFacts | None = None) -> JobPlan:
    """The stages and paths for `spec`. `source_file_type` is the GGUF source's type, when it is one."""
    quant = normalise_quant(spec.quant)
    out_dir = (spec.out_dir or default_out_dir(settings)).expanduser()
    stages: list[str] = ["preflight"]
    if source.kind == "hf-repo":
        stages.append("download")
    converted: Path | None = None
    outtype = ""
    allow_requantize = False
    if source.kind == "gguf":
        assert source.path is not None
        if quant is not None and quant == source_file_type:
            quant = None  # already what was asked for: import as it is
        base_type = source_file_type
        final = source.path
    else:
        stages.append("convert")
        outtype = resolve_outtype(spec.outtype, facts)
        base_type = OUTTYPE_FILE_TYPES[outtype]
        converted = out_dir / f"{source.name}-{base_type}.gguf"
        if quant == base_type:
            quant = None
        final = converted
    if quant is not None:
        stages.append("quantize")
        final = out_dir / f"{source.name}-{quant}.gguf"
        allow_requantize = base_type is not None and base_type not in UNQUANTIZED
    name = None
    if spec.import_to_ollama:
        stages.append("import")
        name = spec.ollama_name or default_model_name(source.name, quant or base_type)
    delete = converted is not None and converted != final and not spec.keep_intermediate
    return JobPlan(source, tuple(stages), quant, outtype, out_dir, converted, final, name,
                   allow_requantize, delete)


def with_source(plan: JobPlan, source: ModelSource) -> JobPlan:
    """The plan after a download: same stages and files, the checkpoint now a local folder."""
    return replace(plan, source=source)


@dataclass(frozen=True)
class OutputRecipes:
    """What each output of a job is made from (`core.pipeline.manifest`); None for a stage not run."""

    convert: Recipe | None = None
    quantize: Recipe | None = None


def place_outputs(plan: JobPlan, spec: JobSpec, tools: ToolPaths) -> tuple[JobPlan, OutputRecipes]:
    """The recipes of the plan's outputs, and the plan with names that no other source's file holds.

    Reads the source's files (fingerprints, see `core.pipeline.manifest`): call it in a thread,
    once the source is a local file or folder.
    """
    source = plan.source
    if source.path is None:
        raise PipelineError("The source must be on disk before its outputs can be named.")
    try:
        files = list(source.parts) if source.kind == "gguf" else checkpoint_files(source.path)
        convert: Recipe | None = None
        converted = plan.converted
        if plan.converted is not None:
            convert = convert_recipe(files, plan.outtype, tools.convert_script, tools.convert_python)
            converted = place(plan.converted, convert)
            source_key = convert.source_key
            made_from: dict[str, object] = {"converted": convert.key}
        else:
            ident = source_identity(files)
            source_key, made_from = digest(ident), {"gguf": ident}
        final = converted if plan.final == plan.converted else plan.final
        quantize: Recipe | None = None
        if plan.quant is not None:
            quantize = quantize_recipe(source_key, made_from, plan.quant, imatrix=spec.imatrix,
                                       allow_requantize=plan.allow_requantize, binary=tools.quantize)
            final = place(plan.final, quantize)
    except OSError as exc:
        raise PipelineError(f"Cannot read {exc.filename or source.path}: {exc.strerror or exc}.") from None
    assert final is not None
    return replace(plan, converted=converted, final=final), OutputRecipes(convert, quantize)


def renamed_notes(plan: JobPlan, recipes: OutputRecipes) -> list[str]:
    """Why an output is not under its usual name (which holds a file this source did not make)."""
    notes = []
    for path, kind, recipe in ((plan.converted, plan.converted_file_type, recipes.convert),
                               (plan.final, plan.quant, recipes.quantize)):
        if path is None or recipe is None or kind is None:
            continue
        plain = path.with_name(f"{plan.source.name}-{kind}.gguf")
        if plain == path:
            continue
        if plain.exists():
            notes.append(f"{mismatch(plain, recipe)}, so this job writes {path.name} instead and leaves it "
                         f"alone (records: *{MANIFEST_SUFFIX}).")
        else:
            notes.append(f"{path.name} is this source's, named so when {plain.name} was taken by another; "
                         "it is used again.")
    return notes
