"""The quantization planner: which quant of a model runs on a machine, how fast, with what context.

Inputs on top (model, machine, RAM; context, KV type, flash attention,
runtime, slots), one row per quant in the middle, and the selected row in
full below: where it runs and why, memory per device, and the exact
`llama-server` command and Ollama settings. Every number, verdict and
command comes from the same core functions `llamadeck plan` prints.

The plan is recomputed in a thread on every change of an input; lookups that
can fail (a corrupt GGUF, a missing shard, a model Ollama lacks) put their
sentence where the table was, and the screen keeps taking input.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input

from core.config import Settings
from core.hardware.types import MachineInfo, SystemSample
from core.ollama.host import select_host
from core.planner.choice import GOALS, best_row
from core.planner.report import (
    BEST_MARK,
    FLASH_ATTN,
    KV_TYPES,
    RUNTIMES,
    machine_summary,
    model_summary,
    next_ctx_preset,
)
from core.planner.source import PlannedModel
from core.planner.types import Plan, QuantRow
from core.units import format_bytes
from tui.hosts import ollama_name
from tui.screens.planner.clip import TMUX_HINT, clip_text
from tui.screens.planner.keys import PLANNER_KEYS
from tui.screens.planner.picker import PickerScreen
from tui.screens.planner.picks import catalog_items, local_and_ollama_items, machine_items
from tui.services import Services
from tui.widgets.key_bar import KeyBar
from tui.widgets.live_text import LiveText
from tui.widgets.planner.detail import PlanDetail
from tui.widgets.planner.inputs import FieldInput, PlanChoices, PlanInputsBar
from tui.widgets.planner.request import PlanRequest
from tui.widgets.planner.sources import PlanSources
from tui.widgets.planner.table import PlanTable
from tui.widgets.title_bar import TitleBar

DEFAULT_QUANT = "Q4_K_M"
INTRO = ("Pick a model with m (the catalog, and the models on your Ollama server), or press i and type "
         "a .gguf path, a Hugging Face folder or org/repo id, or ollama:NAME, then Enter.\n\n"
         "c/C step the context, k the KV cache type, a flash attention, r the runtime, g the machine. "
         "Enter on a row shows it in full here; y copies its llama-server command.")


class PlannerScreen(Screen[None]):
    """Wires the inputs bar, the sources (machine and model lookups), the plan table and the details."""

    # Parsed when this screen first opens, not at start-up (it applies app-wide from then on).
    CSS_PATH = "../../styles/planner.tcss"
    AUTO_FOCUS = "#plan-table"
    ALLOW_IN_MAXIMIZED_VIEW = "TitleBar, KeyBar"  # z zooms the details; the keys stay in view
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = PLANNER_KEYS

    def __init__(self, settings: Settings, services: Services) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.title = "Planner"
        self.choices = PlanChoices()
        self.model: PlannedModel | None = None
        self.plan: Plan | None = None
        self.info: MachineInfo | None = None
        self.sample: SystemSample | None = None
        self.ollama_host: str | None = None  # the Ollama host of the last hand-off, else the default
        self.goal = GOALS[0]  # what the marked best row is best for
        self.preferred: str | None = None  # the quant to put the cursor on when a new model's plan arrives
        self.model_number = 0
        self.plan_number = 0
        self.answered = 0  # the plan request whose answer (plan or sentence) is on screen
        self._pending: tuple[str, str | None] | PlannedModel | None = None
        self._opened_at = 0.0  # when this screen last came to the front (keys older than it were typed ahead)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield PlanInputsBar(id="plan-inputs")
        yield LiveText("", id="plan-problem")
        with Vertical(id="plan-box"):
            yield PlanTable(id="plan-table")
            yield LiveText("", id="plan-error")
        yield PlanDetail(id="plan-detail")
        yield PlanSources(self.settings, self.services, id="plan-sources")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#plan-box").border_title = "Plan"
        self.query_one(PlanDetail).show_message(INTRO, title="Start here")
        self.add_class("-empty")
        self.query_one(PlanSources).probe_machine()
        pending, self._pending = self._pending, None
        if isinstance(pending, PlannedModel):
            self._use_planned(pending)
        elif pending is not None:
            self._use(*pending)

    # ------------------------------------------------------------------ entry points

    def use_model(self, spec: str, host: str | None = None) -> None:
        """Plan `spec` (what the model field accepts); `host` is the Ollama host for `ollama:` names."""
        if not self.is_mounted:
            self._pending = (spec, host)  # on_mount takes it
            return
        self._use(spec, host)

    def use_planned(self, model: PlannedModel) -> None:
        """Plan a model whose facts the caller has (Discover: a Hub file read by ranges), with no lookup."""
        if not self.is_mounted:
            self._pending = model  # on_mount takes it
            return
        self._use_planned(model)

    def _use_planned(self, model: PlannedModel) -> None:
        self.model_number += 1
        self.query_one(PlanInputsBar).set_model_text(model.spec)
        sources = self.query_one(PlanSources)
        sources.post_message(PlanSources.ModelLoaded(sources, self.model_number, model))

    def _use(self, spec: str, host: str | None) -> None:
        self.ollama_host = host
        self.query_one(PlanInputsBar).set_model_text(spec)
        self._load(spec)

    def _load(self, spec: str) -> None:
        self.model_number += 1
        self.query_one("#plan-box").border_title = Text(f"Reading {spec.strip() or '…'}…")
        self.add_class("-loading")
        self.query_one(PlanSources).load_model(self.model_number, spec, ollama_name(self, self.ollama_host))

    @property
    def settled(self) -> bool:
        """No lookup in flight and the newest plan request answered (for tests and screenshots)."""
        return not self.has_class("-loading") and self.answered == self.plan_number

    def replan(self) -> None:
        """Plan again with the current model, inputs and machine (a no-op until all three are there)."""
        if self.model is None or (self.choices.cards is None and self.info is None):
            return
        self.plan_number += 1
        request = PlanRequest(self.plan_number, self.model, self.choices, self.info, self.sample)
        self.query_one(PlanTable).compute_plan(request)

    # ------------------------------------------------------------------ messages

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        self._opened_at = event.time

    def on_key(self, event: events.Key) -> None:  # typed ahead of an empty planner: the model's name (#14)
        if self.model is None and not self.has_class("-loading") and event.time <= self._opened_at \
                and self.query_one(PlanInputsBar).type_ahead(event):
            event.stop()
            event.prevent_default()

    @on(PlanInputsBar.ModelSubmitted)
    def model_submitted(self, message: PlanInputsBar.ModelSubmitted) -> None:
        if message.text.strip():
            self._load(message.text)
            self.query_one(PlanTable).focus()

    @on(PlanInputsBar.Changed)
    def inputs_changed(self, message: PlanInputsBar.Changed) -> None:
        self.choices = message.choices
        self.replan()

    @on(PlanInputsBar.Problem)
    def inputs_problem(self, message: PlanInputsBar.Problem) -> None:
        self.query_one("#plan-problem", LiveText).show(message.text)
        self.set_class(bool(message.text), "-problem")

    @on(FieldInput.Left)
    def field_left(self) -> None:
        self.query_one(PlanTable).focus()

    # Messages built in a thread worker have no sender, so `@on(..., "#id")` would never match them;
    # each of these message types has one possible source on this screen anyway.
    @on(PlanSources.MachineProbed)
    def machine_probed(self, message: PlanSources.MachineProbed) -> None:
        self.info, self.sample = message.info, message.sample
        bar = self.query_one(PlanInputsBar)
        bar.show_live_ram(message.info.ram_total / 1024**3)
        self.choices = bar.choices
        self.replan()

    @on(PlanSources.ModelLoaded, "#plan-sources")
    def model_loaded(self, message: PlanSources.ModelLoaded) -> None:
        if message.number != self.model_number:
            return
        self.remove_class("-loading")
        self.model = message.model
        stored = (message.model.facts.file_type or "").upper()
        # A file or an Ollama model starts on the quant it is stored in; a catalog or HF model is
        # stored in 16 bits, which is rarely the question, so it starts on the usual Q4_K_M.
        self.preferred = stored if stored and message.model.kind in ("gguf", "ollama") else DEFAULT_QUANT
        self.query_one(PlanTable).move_cursor(row=0)
        self.query_one(PlanTable).plan = None  # the cursor goes to `preferred`, not the old model's row
        self.replan()

    @on(PlanSources.ModelLoadFailed, "#plan-sources")
    def model_failed(self, message: PlanSources.ModelLoadFailed) -> None:
        if message.number != self.model_number:
            return
        self.remove_class("-loading")
        self.model = None
        self.plan = None
        self._fail(message.sentence, title=message.spec.strip())
        self.query_one(PlanDetail).show_message(
            "Pick another model with m, or press i to edit the one above.", title="No plan")

    @on(PlanTable.Computed)
    def plan_computed(self, message: PlanTable.Computed) -> None:
        if message.request.number != self.plan_number or self.model is None:
            return
        self.answered = message.request.number
        self.plan = message.plan
        self.remove_class("-failed", "-empty")
        table = self.query_one(PlanTable)
        best = best_row(message.plan, self.goal)
        table.show_plan(message.plan, prefer=self.preferred, best=best.quant if best else None)
        self.preferred = None
        box = self.query_one("#plan-box")
        box.border_title = Text(model_summary(self.model, short=True))
        box.border_subtitle = Text(machine_summary(message.plan.inputs.machine, format_bytes))
        self._show_selected()

    @on(PlanTable.Failed)
    def plan_failed(self, message: PlanTable.Failed) -> None:
        if message.request.number != self.plan_number:
            return
        self.answered = message.request.number
        self.plan = None
        self._fail(message.sentence, title=model_summary(message.request.model, short=True))
        self.query_one(PlanDetail).show_message("Change the input above that the sentence names.",
                                                title="No plan")

    @on(DataTable.RowHighlighted, "#plan-table")
    def row_highlighted(self) -> None:
        self._show_selected()

    @on(DataTable.RowSelected, "#plan-table")
    def row_selected(self) -> None:
        self.query_one(PlanDetail).focus()

    # ------------------------------------------------------------------ actions

    def action_pick_model(self) -> None:
        host = select_host(self.settings, ollama_name(self, self.ollama_host))
        self.app.push_screen(
            PickerScreen("Model: catalog, GGUF files, Ollama", catalog_items(),
                         more=lambda: local_and_ollama_items(self.services, host, self.settings),
                         more_label=f"Looking for GGUF files; asking Ollama at {host.url} for its models…"),
            self._model_picked)

    def _model_picked(self, value: str | None) -> None:
        if value:
            self.use_model(value, self.ollama_host)

    def action_edit_model(self) -> None:
        self.query_one("#plan-model", Input).focus()

    def action_pick_machine(self) -> None:
        live = machine_summary(self.plan.inputs.machine, format_bytes) \
            if self.plan is not None and self.choices.cards is None else "the GPUs and RAM the probe sees"
        self.app.push_screen(PickerScreen("Machine (RAM is its own field)", machine_items(live)),
                             self._machine_picked)

    def _machine_picked(self, value: str | None) -> None:
        if value:
            self.query_one(PlanInputsBar).set_machine_text(value)

    def action_ctx(self, step: int) -> None:
        bar = self.query_one(PlanInputsBar)
        bar.set_ctx(next_ctx_preset(bar.choices.ctx, step))

    def action_cycle(self, name: str) -> None:
        options = {"kv": KV_TYPES, "fa": FLASH_ATTN, "runtime": RUNTIMES}[name]
        key = {"kv": "kv_type", "fa": "flash_attn", "runtime": "runtime"}[name]
        bar = self.query_one(PlanInputsBar)
        current = getattr(bar.choices, key)
        bar.set_select(name, options[(options.index(current) + 1) % len(options)])

    def action_copy_command(self) -> None:
        self._copy("command")
    def action_copy_ollama(self) -> None:
        self._copy("ollama")
    def _copy(self, what: str) -> None:
        row, model = self._selected()
        if row is None or model is None or self.plan is None:
            return
        text, title = clip_text(self.plan, row, model, what)
        if text is None:
            self.notify(title, severity="warning")
            return
        self.app.copy_to_clipboard(text)
        self.notify(TMUX_HINT, title=title, markup=False)

    def action_more_columns(self) -> None:
        best = best_row(self.plan, self.goal) if self.plan is not None else None
        self.query_one(PlanTable).toggle_more(best.quant if best else None)

    def action_quantize(self) -> None:
        row, model = self._selected()
        if row is None or model is None:
            return
        if model.pipeline_source is None:
            where = "comes from Ollama, which keeps" if model.kind == "ollama" else "is a Hub file with"
            self.notify(f"{model.label} {where} no checkpoint to quantize again; plan "
                        "its Hugging Face repo or catalog entry and press p there.", severity="warning")
            return
        opener = getattr(self.app, "open_pipeline", None)
        if not callable(opener):
            self.notify("The pipeline screen arrives with issue #6.", title="Quantize", markup=False)
            return
        opener(model.pipeline_source, row.quant)

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
            self.query_one(PlanTable).focus()
        else:
            detail = self.query_one(PlanDetail)
            detail.focus()  # the footer shows the focused widget's keys; the table is hidden now
            self.maximize(detail, container=False)

    def action_cycle_goal(self) -> None:
        self.goal = GOALS[(GOALS.index(self.goal) + 1) % len(GOALS)]
        best = best_row(self.plan, self.goal) if self.plan is not None else None
        if self.plan is not None:
            self.query_one(PlanTable).show_plan(self.plan, best=best.quant if best else None)
        self.notify(f"Best row for {self.goal}: {best.quant if best else 'none runs'} (marked {BEST_MARK}).")

    def action_measure_bandwidth(self) -> None:
        self.notify("Measuring RAM bandwidth (about a second)...")
        self.query_one(PlanSources).measure_bandwidth()

    def action_reprobe(self) -> None:
        self.query_one(PlanSources).probe_machine()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("copy_command", "copy_ollama", "quantize", "zoom", "more_columns"):
            return True if self.plan is not None else None  # greyed out until there is a row
        return True

    # ------------------------------------------------------------------ helpers

    def _selected(self) -> tuple[QuantRow | None, PlannedModel | None]:
        row = self.query_one(PlanTable).selected
        if row is None:
            self.notify("No quantization is highlighted.")
        return row, self.model

    def _show_selected(self) -> None:
        row = self.query_one(PlanTable).selected
        if row is not None and self.plan is not None and self.model is not None:
            self.query_one(PlanDetail).show_row(self.plan, row, self.model)
        self.refresh_bindings()

    def _fail(self, sentence: str, *, title: str) -> None:
        self.add_class("-failed")
        self.remove_class("-empty")
        self.query_one(PlanTable).clear_plan()
        box = self.query_one("#plan-box")
        box.border_title = Text(title)
        box.border_subtitle = Text("")
        self.query_one("#plan-error", LiveText).show(sentence)
        self.refresh_bindings()

