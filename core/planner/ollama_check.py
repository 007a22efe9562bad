"""A loaded model checked against the prediction: the one call `ps --predict` and the Models screen share.

The machine is the one the model was placed on: llama.cpp's fit saw the VRAM
that was free when the model loaded, which is what is free now plus what the
model itself holds (spread over the GPUs in proportion to what they use).
System RAM likewise gets back the model's own CPU part. The server settings
come from core.ollama.server_env; the model's Modelfile `num_ctx`,
`num_gpu` and `num_batch` from its /api/show parameters.

Pure: the callers read the hardware, the server and its settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import LlamadeckError
from core.facts.types import ModelFacts
from core.hardware.types import MachineInfo, SystemSample
from core.ollama.server_settings import OllamaServerSettings
from core.ollama.types import RunningModel, ShowInfo
from core.planner.machine import spec_from_machine_info
from core.planner.ollama_explain import LoadComparison, compare_load
from core.planner.ollama_load import predict_load
from core.planner.source import facts_from_show_info
from core.planner.types import MachineSpec

MODELFILE = "the Modelfile (PARAMETER)"


@dataclass(frozen=True)
class LoadCheck:
    """For one loaded model: the comparison, or the sentence saying why there is none."""

    name: str
    comparison: LoadComparison | None
    settings: OllamaServerSettings
    problem: str | None = None


def machine_at_load(info: MachineInfo, sample: SystemSample | None, loaded: RunningModel) -> MachineSpec:
    """This machine as fit saw it when `loaded` was placed: free memory now plus what the model holds."""
    totals = [g.memory_total for g in info.gpus]
    free: list[int] = []
    for i, total in enumerate(totals):
        s = next((g for g in sample.gpus if g.index == info.gpus[i].index), None) if sample else None
        free.append(total if s is None or s.memory_free is None else s.memory_free)
    used = [t - f for t, f in zip(totals, free, strict=True)]
    busy = sum(used)
    back = [loaded.size_vram * u // busy if busy else 0 for u in used]
    gpu_free: list[int | None] = [min(t, f + b) for t, f, b in zip(totals, free, back, strict=True)]
    ram = None
    if sample is not None:
        ram = min(info.ram_total, sample.ram_available + max(0, loaded.size - loaded.size_vram))
    return spec_from_machine_info(info, gpu_free=gpu_free, ram_available=ram)


def settings_for_model(server: OllamaServerSettings, show: ShowInfo) -> OllamaServerSettings:
    """The server's settings with the model's own Modelfile parameters on top."""
    return server.with_model_options(dict(show.parameter_list), MODELFILE)


def check_loaded(show: ShowInfo, loaded: RunningModel, running: Sequence[RunningModel],
                 server: OllamaServerSettings, info: MachineInfo, sample: SystemSample | None, *,
                 local: bool = True, facts: ModelFacts | None = None) -> LoadCheck:
    """Predict how `loaded` should have loaded and compare; any failure becomes the check's sentence."""
    settings = settings_for_model(server, show)
    if not local:
        return LoadCheck(loaded.name, None, settings,
                         "The server is another machine; llamadeck predicts loads only for an Ollama on "
                         "this one, whose GPUs it can see.")
    try:
        facts = facts or facts_from_show_info(show)
        machine = machine_at_load(info, sample, loaded)
        predicted = predict_load(facts, machine, settings, vram_total=sum(g.memory_total for g in info.gpus),
                                 capabilities=show.capabilities or ("completion",))
    except LlamadeckError as exc:
        return LoadCheck(loaded.name, None, settings, f"No prediction for {loaded.name}: {exc}")
    others = [m for m in running if m.name != loaded.name]
    return LoadCheck(loaded.name, compare_load(predicted, loaded, settings, others), settings)
