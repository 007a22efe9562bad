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
from core.facts.quants import QUANT_FORMATS
from core.pipeline.estimate import NO_QUANT, canonical_quant, job_estimate, job_problem
from core.pipeline.stages import OUTTYPES
from core.pipeline.tools import missing_tools
from core.pipeline.types import JobSpec
from core.planner.machine import spec_from_machine_info
from core.planner.types import MachineSpec
from tui.services import Services
from tui.widgets.marks import MarkedCheckbox

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


class EstimateMade(Message):
    def __init__(self, text: str, *, problem: bool = False, tools: str | None = None) -> None:
        super().__init__()
        self.text = text
        self.problem = problem
        self.tools = tools  # the llama.cpp tools the job needs and that are missing, or None

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
                yield MarkedCheckbox("Import into Ollama", True, id="job-import", compact=True)
                yield MarkedCheckbox("Keep the F16/BF16 GGUF", False, id="job-keep", compact=True)
            yield Static("", id="job-estimate", markup=False)
            yield Static("", id="job-tools", markup=False)
            yield Static(HINT, id="dialog-problem", markup=False)

    def on_mount(self) -> None:
        self.query_one("#job-source", Input).focus()
        self.query_one("#job-tools", Static).display = False
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

    def action_submit(self) -> None:
        spec = self.spec()
        problem = job_problem(spec)
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
        def machine() -> MachineSpec:
            return spec_from_machine_info(self.services.hardware.machine_info())

        made = job_estimate(source_text, quant, runtime, machine)
        converter = not source_text.strip().lower().endswith(".gguf")  # a GGUF is only quantized
        tools = missing_tools(self.settings, converter=converter, quant=quant)
        self.post_message(EstimateMade(made.text, problem=made.problem, tools=tools))

    @on(EstimateMade)
    def show_estimate(self, message: EstimateMade) -> None:
        line = self.query_one("#job-estimate", Static)
        line.set_class(message.problem, "-error")
        line.update(message.text)
        tools = self.query_one("#job-tools", Static)
        tools.display = message.tools is not None
        tools.update(f"✗ {message.tools}" if message.tools else "")
