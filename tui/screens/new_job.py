"""The new-job form: what to convert, to which quant, and where the result goes.

It opens empty from the jobs screen (`n`), or filled in by a hand-off (the
planner's "quantize to this row", the model browser's host). While the user
types it works out, in a thread, what the planner predicts for the choice:
the exact file size and whether that fits this machine, from the model's
headers only. A Hub repo's size is known only once its files are listed,
which the job's pre-flight does, so the form says that instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, Select, Static

from core.config import Settings
from core.errors import LlamadeckError
from core.facts.quants import QUANT_FORMATS, quant_format
from core.facts.types import ModelFacts
from core.pipeline.checks import FIT_CONTEXT
from core.pipeline.sources import resolve_source
from core.pipeline.stages import OUTTYPES
from core.pipeline.types import JobSpec
from core.planner.types import MachineSpec
from tui.services import Services
from tui.widgets.units import format_bytes

NO_QUANT = "none"
HINT = "Tab moves between fields; Enter in a text field (or Ctrl+S) starts the job; Esc cancels."
SOURCE_HELP = "A Hub repo (owner/name), a checkpoint folder with config.json, or a .gguf file."
ESTIMATE_DELAY_S = 0.4  # typing pauses this long before the source is read again


@dataclass(frozen=True)
class Prefill:
    """What a hand-off fills in; None leaves the form's default."""

    source: str | None = None
    quant: str | None = None
    host: str | None = None


def quant_options() -> list[tuple[str, str]]:
    options = [(f"{f.name:<9} {f.hint}", f.name) for f in QUANT_FORMATS.values()]
    return [*options, ("none      keep the converted GGUF as it is", NO_QUANT)]


def canonical_quant(name: str | None) -> str:
    """A hand-off's quant as the form lists it ("q4_k" -> "Q4_K_M"); unknown ones fall back to Q4_K_M."""
    if name is None or not name.strip():
        return "Q4_K_M"
    if name.strip().lower() == NO_QUANT:
        return NO_QUANT
    try:
        return quant_format(name).name
    except LlamadeckError:
        return "Q4_K_M"


def fit_phrase(facts: ModelFacts, quant: str, machine: MachineSpec, runtime: str) -> str:
    """Where the planner places `quant` on this machine, in a few words."""
    from core.planner.plan import plan

    row = plan(facts, machine, ctx=FIT_CONTEXT, runtime=runtime, quants=(quant,)).rows[0]
    speed = f", about {row.decode_tps:.0f} tokens/s" if row.decode_tps else ""
    return {
        "gpu": f"fits on the GPU at {FIT_CONTEXT} context{speed}",
        "partial": f"partly on the GPU ({row.n_gpu_layers} of {row.n_layers + 1} layers){speed}",
        "cpu": f"runs on the CPU{speed}",
    }.get(row.placement, f"does not fit this machine at {FIT_CONTEXT} context")


class EstimateMade(Message):
    def __init__(self, text: str, *, problem: bool = False) -> None:
        super().__init__()
        self.text = text
        self.problem = problem

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EstimateMade)


class NewJobDialog(ModalScreen[JobSpec | None]):
    """Dismisses with the JobSpec to queue, or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Start the job"),
    ]

    def __init__(self, settings: Settings, services: Services, prefill: Prefill | None = None) -> None:
        super().__init__(classes="dialog")
        self.settings = settings
        self.services = services
        self.prefill = prefill or Prefill()
        self.hosts = tuple(h for h in settings.hosts if h.kind == "ollama")
        self._estimate_timer: Timer | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        prefill = self.prefill
        host = prefill.host if prefill.host in {h.name for h in self.hosts} else None
        if host is None and self.hosts:
            default = self.settings.host()
            host = default.name if default is not None else self.hosts[0].name
        with Vertical(id="dialog-box") as box:
            box.border_title = Text("New job: Hugging Face -> GGUF -> Ollama")
            yield Static(SOURCE_HELP, id="dialog-message", markup=False)
            with Grid(id="job-form"):
                yield Label("Source")
                yield Input(prefill.source or "", placeholder="Qwen/Qwen2.5-7B-Instruct", id="job-source",
                            compact=True)
                yield Label("Quant")
                yield Select(quant_options(), value=canonical_quant(prefill.quant), allow_blank=False,
                             id="job-quant", compact=True)
                yield Label("Outtype")
                yield Select([(o, o) for o in OUTTYPES], value="f16", allow_blank=False, id="job-outtype",
                             compact=True)
                yield Label("Ollama")
                yield Input(placeholder="model name (default: name:quant)", id="job-name", compact=True)
                yield Label("Host")
                if self.hosts:
                    yield Select([(f"{h.name}  {h.url}", h.name) for h in self.hosts], value=host,
                                 allow_blank=False, id="job-host", compact=True)
                else:
                    yield Static("OLLAMA_HOST or the local server", id="job-host-default")
            with Horizontal(id="job-flags"):
                yield Checkbox("Import into Ollama", True, id="job-import", compact=True)
                yield Checkbox("Keep the F16/BF16 GGUF", False, id="job-keep", compact=True)
            yield Static("", id="job-estimate", markup=False)
            yield Static(HINT, id="dialog-problem", markup=False)

    def on_mount(self) -> None:
        self.query_one("#job-source", Input).focus()
        self.estimate()

    # ------------------------------------------------------------------ the spec

    def spec(self) -> JobSpec:
        quant = self.query_one("#job-quant", Select).value
        outtype = self.query_one("#job-outtype", Select).value
        name = self.query_one("#job-name", Input).value.strip()
        host = self.query_one("#job-host", Select).value if self.hosts else None
        return JobSpec(
            source=self.query_one("#job-source", Input).value.strip(),
            quant=None if quant == NO_QUANT else str(quant),
            outtype=str(outtype),
            ollama_name=name or None,
            import_to_ollama=self.query_one("#job-import", Checkbox).value,
            keep_intermediate=self.query_one("#job-keep", Checkbox).value,
            host=str(host) if isinstance(host, str) else None,
        )

    def problem(self, spec: JobSpec) -> str | None:
        """What stops the job from being queued at all; everything else is the pre-flight's to find."""
        try:
            resolve_source(spec.source)
        except LlamadeckError as exc:
            return str(exc)
        if spec.ollama_name is not None and any(c.isspace() for c in spec.ollama_name):
            return "An Ollama model name has no spaces (for example qwen2.5-7b:q4_k_m)."
        return None

    def action_submit(self) -> None:
        spec = self.spec()
        problem = self.problem(spec)
        if problem is not None:
            self._say(problem, error=True)
            return
        self.dismiss(spec)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def _say(self, text: str, *, error: bool) -> None:
        line = self.query_one("#dialog-problem", Static)
        line.set_class(error, "-error")
        line.update(text)

    # ------------------------------------------------------------------ the estimate

    @on(Input.Changed, "#job-source")
    def source_changed(self) -> None:
        if self._estimate_timer is not None:
            self._estimate_timer.stop()
        self._estimate_timer = self.set_timer(ESTIMATE_DELAY_S, self.estimate)

    @on(Select.Changed, "#job-quant")
    @on(Checkbox.Changed, "#job-import")
    def choice_changed(self) -> None:
        self.estimate()

    def estimate(self) -> None:
        spec = self.spec()
        self.make_estimate(spec.source, spec.quant, "ollama" if spec.import_to_ollama else "llama-server")

    @work(thread=True, exclusive=True, group="estimate")
    def make_estimate(self, source_text: str, quant: str | None, runtime: str) -> None:
        text, problem = self._estimate(source_text, quant, runtime)
        self.post_message(EstimateMade(text, problem=problem))

    def _estimate(self, source_text: str, quant: str | None, runtime: str) -> tuple[str, bool]:
        from core.facts.gguf import facts_from_gguf, facts_from_hf_dir
        from core.pipeline.job import predicted_size

        if not source_text.strip():
            return "Name a source to see the planner's size for it.", False
        try:
            source = resolve_source(source_text)
            if source.kind == "hf-repo":
                return ("The size is predicted once the pre-flight has listed the repo's files "
                        "(nothing is downloaded before that)."), False
            assert source.path is not None
            facts = facts_from_gguf(source.path) if source.kind == "gguf" else facts_from_hf_dir(source.path)
        except LlamadeckError as exc:
            return str(exc), True
        if quant is None:
            return f"{facts.name}: no quantize stage; the converted GGUF is the result.", False
        size = predicted_size(facts, quant)
        if size is None:
            return f"{quant}: the size cannot be predicted before the tensor table is known.", False
        bpw = f" ({size * 8 / facts.n_params:.2f} bits/weight)" if facts.n_params else ""
        text = f"{quant}: {format_bytes(size)} predicted{bpw}"
        try:
            machine = MachineSpec.from_machine_info(self.services.hardware.machine_info())
            text += f"; {fit_phrase(facts, quant, machine, runtime)} ({runtime})."
        except LlamadeckError as exc:
            text += f"; fit not checked: {exc}"
        return text, False

    @on(EstimateMade)
    def show_estimate(self, message: EstimateMade) -> None:
        line = self.query_one("#job-estimate", Static)
        line.set_class(message.problem, "-error")
        line.update(message.text)
