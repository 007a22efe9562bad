"""What a Discover search and its verdicts are asked with: words, order, context and KV cache type.

The context steps are the ones a user compares files at (4k to 32k, then
auto: llama.cpp's fit picks each file's context); the verdicts use this
machine as the hardware probe sees it, the same machine the planner plans for.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.discover.types import SORTS
from core.errors import LlamadeckError
from core.planner.machine import machine_spec
from core.planner.report import KV_TYPES
from core.planner.types import MachineSpec
from core.units import format_ctx
from tui.services import Services

CTX_STEPS: tuple[int | None, ...] = (4096, 8192, 16384, 32768, None)  # None: auto


@dataclass(frozen=True)
class DiscoverChoices:
    query: str = ""
    sort: str = SORTS[0]
    ctx: int | None = 8192
    kv_type: str = KV_TYPES[0]

    @property
    def ctx_text(self) -> str:
        return "auto" if self.ctx is None else format_ctx(self.ctx)

    def line(self) -> str:
        """`by downloads · ctx 8k · KV f16`, the search line's right-hand end."""
        return f"by {self.sort} · ctx {self.ctx_text} · KV {self.kv_type}"


def step(options: tuple[object, ...], current: object, by: int = 1) -> object:
    """The option `by` places after `current` (round the end), the first when `current` is not one."""
    if current not in options:
        return options[0]
    return options[(options.index(current) + by) % len(options)]


def this_machine(services: Services) -> MachineSpec:
    """This machine's GPUs and RAM as the probe sees them (blocking on the first NVML read: a thread)."""
    return machine_spec(None, info=services.hardware.machine_info())


def failure(what: str, exc: Exception) -> str:
    """core's sentence; for anything else (a bug) what failed and how, said in place: the screen stays up."""
    if isinstance(exc, LlamadeckError):
        return str(exc)
    return f"{what} failed ({type(exc).__name__}: {exc})."
