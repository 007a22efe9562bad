"""The planner's inputs on two lines: model, machine, RAM; context, KV type, flash attention, runtime, slots.

Each field is validated as it is typed with the same parsers the CLI uses
(core.planner.report, core.planner.machine), so `8k` means 8192 on both. A field that does not parse
is marked `-invalid` and its sentence goes up in `Problem`; the last good
value stays in force, so a half-typed "409" never wipes a plan off screen.
The model is only looked up on Enter: a lookup may read a 100 GB file's
header or ask a server, which is not something to do per keystroke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widget import Widget
from textual.widgets import Input, Label, Select

from core.errors import LlamadeckError
from core.facts import catalog
from core.planner.cards import CARDS
from core.planner.machine import hypothetical_spec, parse_parallel, parse_ram_gb
from core.planner.report import FLASH_ATTN, KV_TYPES, RUNTIMES, card_list, parse_ctx_or_auto
from core.planner.rpc import RpcDevice, parse_rpc
from core.units import format_ctx

THIS_MACHINE = "this machine"
FREE_NOW = "free now"
LIVE = {"": THIS_MACHINE, "this": THIS_MACHINE, THIS_MACHINE: THIS_MACHINE, "free": FREE_NOW,
        FREE_NOW: FREE_NOW, "this machine, free now": FREE_NOW}
DEFAULT_RAM_GB = 64.0


@dataclass(frozen=True)
class PlanChoices:
    """What the inputs say now; `cards` is None for the live machine."""

    ctx: int | None = 8192  # None: auto, llama.cpp's fit picks it
    kv_type: str = "f16"
    flash_attn: str = "auto"
    runtime: str = "llama-server"
    parallel: int | None = None
    cards: tuple[str, ...] | None = None
    free_now: bool = False
    ram_gb: float = DEFAULT_RAM_GB
    rpc: tuple[RpcDevice, ...] = ()  # remote rpc-server devices, typed into the Machine field


def machine_choice(text: str) -> tuple[tuple[str, ...] | None, bool, tuple[RpcDevice, ...]]:
    """(cards or None for this machine, plan with the memory free now, RPC devices).

    Parts that look like HOST:PORT[=SIZE] are rpc-server devices that join
    whichever machine the rest names: `this machine + 10.0.0.2:50052=12G`.
    """
    parts = [p.strip() for p in text.split("+")]
    remote = [p for p in parts if _RPC_PART.match(p)]
    rest = " + ".join(p for p in parts if p and p not in remote)
    rpc = parse_rpc(remote)
    live = LIVE.get(rest.lower())
    if live is not None:
        return None, live == FREE_NOW, rpc
    return card_list(rest), False, rpc


_RPC_PART = re.compile(r"^\S+:\d+(=\S+)?$")


class FieldInput(Input):
    """An input that gives the focus back to the plan table on Escape."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave", "Back to the table", show=False)]

    class Left(Message):
        pass

    def action_leave(self) -> None:
        self.post_message(self.Left())


class PlanInputsBar(Widget):
    """Posts `Changed` (new choices), `ModelSubmitted` (Enter in the model field), `Problem` (bad text)."""

    DEFAULT_CSS = """
    PlanInputsBar { height: auto; }
    PlanInputsBar Horizontal { height: 1; }
    PlanInputsBar Label { padding: 0 1 0 1; color: $text-muted; }
    PlanInputsBar Input.-invalid { color: $text-error; }
    """

    class Changed(Message):
        def __init__(self, choices: PlanChoices) -> None:
            super().__init__()
            self.choices = choices

    class ModelSubmitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Problem(Message):
        """`text` is the sentence for the field that does not parse, or "" when every field is fine."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.choices = PlanChoices()
        self._problems: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        models = SuggestFromList([e.name for e in catalog.entries()] + catalog.names(), case_sensitive=False)
        machines = SuggestFromList([THIS_MACHINE, FREE_NOW, "cpu", *(c.name for c in CARDS)],
                                   case_sensitive=False)
        with Horizontal(id="plan-line1"):
            yield Label("Model")
            yield FieldInput(placeholder="catalog name, .gguf, HF folder or org/repo, ollama:NAME",
                             id="plan-model", suggester=models, compact=True)
            yield Label("Machine")
            yield FieldInput(THIS_MACHINE, id="plan-machine", suggester=machines, compact=True,
                             tooltip="this machine, free now, cpu, 4090, 2x 3090, 4060 Ti 16GB + 3060; add "
                                     "rpc-server devices as + HOST:PORT=12G (or =3060, or no size to ask)")
            yield Label("RAM")
            yield FieldInput(f"{DEFAULT_RAM_GB:g}", id="plan-ram", compact=True, restrict=r"[0-9.]*",
                             tooltip="GB of system RAM of the hypothetical machine")
        with Horizontal(id="plan-line2"):
            yield Label("Ctx")
            yield FieldInput(format_ctx(self.choices.ctx or 8192), id="plan-ctx", compact=True,
                             tooltip="tokens per conversation: 8192, 8k, 32k, 128k; or auto (no -c: "
                                     "llama.cpp's fit picks it per row)")
            yield Label("KV")
            yield Select([(k, k) for k in KV_TYPES], value="f16", allow_blank=False, compact=True,
                         id="plan-kv")
            yield Label("FA")
            yield Select([(f, f) for f in FLASH_ATTN], value="auto", allow_blank=False, compact=True,
                         id="plan-fa")
            yield Label("Runtime")
            yield Select([(r, r) for r in RUNTIMES], value="llama-server", allow_blank=False, compact=True,
                         id="plan-runtime")
            yield Label("Slots")
            yield FieldInput("", placeholder="auto", id="plan-parallel", compact=True, restrict=r"[0-9a-z]*",
                             tooltip="parallel sequences: -np for llama-server, OLLAMA_NUM_PARALLEL")

    def on_mount(self) -> None:
        self.query_one("#plan-ram", Input).disabled = True

    # ------------------------------------------------------------------ setters (keys on the screen)

    def set_model_text(self, text: str) -> None:
        field = self.query_one("#plan-model", Input)
        with field.prevent(Input.Changed):
            field.value = text
        field.cursor_position = len(text)

    def type_ahead(self, event: events.Key) -> bool:
        """Take a key typed before the screen could focus anything: it was meant for the model field.

        A leading `i` is the planner's own "type a model" key, so it only moves there; a leading
        digit or sign is a key for the app (another screen, help), so it is not taken.
        """
        field = self.query_one("#plan-model", Input)
        started = field.has_focus
        if started and event.key in ("enter", "backspace"):
            if event.key == "enter":
                self.post_message(self.ModelSubmitted(field.value))
            else:
                field.action_delete_left()
            return True
        char = event.character if event.is_printable else None
        if not char or not (started or char.isalpha() or char in "./~"):
            return False
        self.screen.set_focus(field)
        if started or char != "i":
            field.insert_text_at_cursor(char)
        return True

    def set_ctx(self, ctx: int | None) -> None:
        text = "auto" if ctx is None else format_ctx(ctx)
        self.query_one("#plan-ctx", Input).value = text  # Input.Changed applies it

    def set_machine_text(self, text: str) -> None:
        self.query_one("#plan-machine", Input).value = text

    def show_live_ram(self, gib: float) -> None:
        """This machine's RAM in the (read-only) RAM field while the machine is this one.

        It also becomes the RAM a hypothetical machine starts from, as in `llamadeck plan --gpu`.
        """
        field = self.query_one("#plan-ram", Input)
        if not field.disabled:
            return  # a hypothetical machine keeps the RAM typed for it
        text = f"{gib:.1f}".removesuffix(".0")
        with field.prevent(Input.Changed):
            field.value = text
        self.choices = replace(self.choices, ram_gb=float(text))

    def set_select(self, name: str, value: str) -> None:
        self.query_one(f"#plan-{name}", Select).value = value  # Select.Changed applies it

    # ------------------------------------------------------------------ events

    @on(Input.Submitted, "#plan-model")
    def _model_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.ModelSubmitted(event.value))

    @on(Input.Changed)
    def _field_changed(self, event: Input.Changed) -> None:
        event.stop()
        field = event.input.id or ""
        if field == "plan-model":
            return
        try:
            choices = self._parse(field, event.value)
        except LlamadeckError as exc:
            self._problems[field] = exc.message
            event.input.add_class("-invalid")
        else:
            self._problems.pop(field, None)
            event.input.remove_class("-invalid")
            if choices != self.choices:
                self.choices = choices
                self.post_message(self.Changed(choices))
        self.post_message(self.Problem(next(iter(self._problems.values()), "")))

    def _parse(self, field: str, value: str) -> PlanChoices:
        c = self.choices
        if field == "plan-ctx":
            return replace(c, ctx=parse_ctx_or_auto(value))
        if field == "plan-ram":
            return replace(c, ram_gb=parse_ram_gb(value))
        if field == "plan-parallel":
            return replace(c, parallel=parse_parallel(value))
        if field == "plan-machine":
            cards, free, rpc = machine_choice(value)
            if cards is not None:
                hypothetical_spec(cards, c.ram_gb)  # an unknown card is a sentence now, not at plan time
            self.query_one("#plan-ram", Input).disabled = cards is None
            return replace(c, cards=cards, free_now=free, rpc=rpc)
        return c

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = event.value
        if not isinstance(value, str):
            return
        c = self.choices
        name = (event.select.id or "").removeprefix("plan-")
        if name == "kv":
            choices = replace(c, kv_type=value)
        elif name == "fa":
            choices = replace(c, flash_attn=value)
        elif name == "runtime":
            choices = replace(c, runtime=value)
        else:
            return
        if choices != c:
            self.choices = choices
            self.post_message(self.Changed(choices))
