"""Ctrl+O on the chat screen: model, system prompt, sampling parameters, thinking, history limit.

Every field left blank means "the server's (or the model's) default", which is
what a user who has not touched it expects; a value that is not valid is
named with the field and what would be, and the dialog stays open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from core.chat.types import THINK_LEVELS, ChatOptions
from core.errors import ChatError


@dataclass(frozen=True)
class ChatSetup:
    """What the dialog hands back: the model to talk to, its system prompt and options."""

    model: str | None
    system_prompt: str
    options: ChatOptions


# field name, label, type, lowest allowed value, highest allowed value, example
NUMBER_FIELDS: tuple[tuple[str, str, type, float | None, float | None, str], ...] = (
    ("temperature", "temperature", float, 0.0, None, "0.7"),
    ("top_p", "top_p", float, 0.0, 1.0, "0.9"),
    ("top_k", "top_k", int, 0, None, "40"),
    ("repeat_penalty", "repeat_penalty", float, 0.0, None, "1.1"),
    ("num_ctx", "num_ctx (context)", int, 1, None, "8192"),
    ("num_predict", "num_predict (max out)", int, -2, None, "512, or -1 for no limit"),
    ("seed", "seed", int, None, None, "42"),
    ("history_limit", "past messages sent", int, 1, None, "10, or blank for all"),
)

THINK_CHOICES: tuple[tuple[str, bool | str | None], ...] = (
    ("model default", None), ("on", True), ("off", False),
    *((level, level) for level in THINK_LEVELS),
)


def parse_number(name: str, text: str, kind: type, low: float | None, high: float | None,
                 example: str) -> int | float | None:
    """One field's value, or None when blank; a ChatError names the field otherwise."""
    text = text.strip()
    if not text:
        return None
    try:
        value: int | float = int(text) if kind is int else float(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ChatError(f"{name} must be {what} such as {example}, not {text!r}.") from None
    if low is not None and value < low:
        raise ChatError(f"{name} must be at least {low:g}, not {value:g}.")
    if high is not None and value > high:
        raise ChatError(f"{name} must be at most {high:g}, not {value:g}.")
    return value


def parse_options(fields: dict[str, str], think: bool | str | None, base: ChatOptions) -> ChatOptions:
    """ChatOptions from the dialog's texts; what the dialog does not show is kept from `base`."""
    values: dict[str, Any] = {}
    for name, _label, kind, low, high, example in NUMBER_FIELDS:
        values[name] = parse_number(name, fields.get(name, ""), kind, low, high, example)
    return ChatOptions(stop=base.stop, keep_alive=base.keep_alive, think=think, **values)


def _text(value: object) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class ChatOptionsScreen(ModalScreen[ChatSetup | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "apply", "Apply"),
    ]
    AUTO_FOCUS = "#opt-model"  # not the scrolling body: the first Enter or Down opens the model list (#14)

    def __init__(self, models: list[str], setup: ChatSetup) -> None:
        super().__init__()
        self.models = models
        self.setup = setup

    def compose(self) -> ComposeResult:
        opts = self.setup.options
        names = list(dict.fromkeys([*self.models, *([self.setup.model] if self.setup.model else [])]))
        with Vertical(id="options-box") as box:
            box.border_title = "Chat options"
            box.border_subtitle = "Ctrl+S applies · Esc cancels"
            with VerticalScroll(id="options-body"):
                yield Label("Model")
                if self.models:
                    yield Select([(n, n) for n in names], value=self.setup.model or Select.NULL,
                                 prompt="Pick a model", id="opt-model", compact=True)
                else:  # a server that lists no models (an OpenAI-compatible one): type the name
                    yield Input(self.setup.model or "", placeholder="model name, as the server knows it",
                                id="opt-model", compact=True)
                yield Label("System prompt")
                yield TextArea(self.setup.system_prompt, id="opt-system", soft_wrap=True, compact=True)
                with Grid(id="opt-grid"):
                    for name, label, _kind, _low, _high, example in NUMBER_FIELDS:
                        yield Label(label)
                        yield Input(_text(getattr(opts, name)), placeholder=f"default (e.g. {example})",
                                    id=f"opt-{name}", compact=True)
                    yield Label("thinking")
                    yield Select([(label, i) for i, (label, _v) in enumerate(THINK_CHOICES)],
                                 value=next(i for i, (_l, v) in enumerate(THINK_CHOICES)
                                            if v == opts.think and type(v) is type(opts.think)),
                                 allow_blank=False, id="opt-think", compact=True)
            yield Static("", id="opt-error")
            with Horizontal(id="options-buttons"):
                yield Button("Apply", id="opt-apply", variant="primary", compact=True)
                yield Button("Cancel", id="opt-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#opt-error", Static).display = False

    @on(Input.Submitted)
    @on(Button.Pressed, "#opt-apply")
    def action_apply(self) -> None:
        fields = {name: self.query_one(f"#opt-{name}", Input).value for name, *_ in NUMBER_FIELDS}
        think_index = self.query_one("#opt-think", Select).value
        think = THINK_CHOICES[think_index][1] if isinstance(think_index, int) else None
        try:
            options = parse_options(fields, think, self.setup.options)
        except ChatError as err:
            error = self.query_one("#opt-error", Static)
            error.update(Content(str(err)))
            error.display = True
            return
        picked = self.query_one("#opt-model")
        model = picked.value.strip() if isinstance(picked, Input) else picked.value if isinstance(
            picked, Select) else None
        self.dismiss(ChatSetup(model=model if isinstance(model, str) and model else self.setup.model,
                               system_prompt=self.query_one("#opt-system", TextArea).text.strip(),
                               options=options))

    @on(Button.Pressed, "#opt-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
