"""The bottom line of every screen: its few main keys, then how to switch screens, get help and quit.

Textual's Footer builds a widget per key (fourteen on the dashboard, each
styled, laid out and recomposed whenever the bindings change), and it does so
before the app's first frame reaches the terminal. This bar is one widget
that draws one line from the screen's active bindings, with the same rules
as the Footer: hidden bindings are left out, several keys for one action
show the first, disabled keys are dimmed, and the command palette's key sits
at the right end when there is room. A click on a key presses it.

Unlike the Footer, the app's own keys (`1-6 Screens`, `? Help`, `q Quit`)
always keep their place: the screen's keys are cut first when the line is
short. While a text box has the keys (1-6, ? and q would be typed there), the
line says what works instead: Esc then 1-6, F1, Ctrl+Q. Only the screens'
group is run together (`1-6 Screens`); a screen's own groups title its
sections in the help, never the line, where `pdcmlLufi Model` said nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, TextArea

GAP = 2  # blank cells between two items
# The app's screen keys, shown as one item: `1-6 Screens`.
SCREENS = Binding.Group("Screens", compact=True)
# What works while a text box has the keys: Esc leaves it (then 1-6 work), F1 and Ctrl+Q work in it.
IN_TEXT = (("esc 1-6", "Screens", "escape"), ("f1", "Help", "f1"), ("^q", "Quit", "ctrl+q"))


@dataclass(frozen=True)
class KeyItem:
    """One item of the bar: what is shown for the key, its label, and the key a click presses."""

    keys: str
    label: str
    press: str
    enabled: bool = True

    @property
    def width(self) -> int:
        return cell_len(self.keys) + (1 + cell_len(self.label) if self.label else 0)


Collected = tuple[tuple[KeyItem, ...], tuple[KeyItem, ...], KeyItem | None]


def takes_text(widget: Widget | None) -> bool:
    """A focused text box types 1-6, ? and q instead of acting on them."""
    return isinstance(widget, Input | TextArea) and not getattr(widget, "read_only", False)


class KeyBar(Widget):
    """One line of key hints for the current screen."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .key-bar--key {
        color: $footer-key-foreground;
        text-style: bold;
    }
    KeyBar > .key-bar--disabled {
        text-style: dim;
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key", "key-bar--disabled"}
    ALLOW_SELECT = False

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._items: tuple[KeyItem, ...] = ()
        self._global: tuple[KeyItem, ...] = ()  # the app's keys, never cut for the screen's
        self._palette: KeyItem | None = None
        self._spans: list[tuple[int, int, str]] = []  # (first cell, end cell, key) as last drawn

    @property
    def items(self) -> tuple[KeyItem, ...]:
        return (*self._items, *self._global)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        collected = self._collect(screen)
        if collected != (self._items, self._global, self._palette):
            self._items, self._global, self._palette = collected
            self.refresh()

    def _collect(self, screen: Screen[object]) -> Collected:
        app = self.app
        active = screen.active_bindings
        by_action: dict[str, tuple[Binding, bool, bool]] = {}
        for node, binding, enabled, _tooltip in active.values():
            if binding.show and binding.action not in by_action:
                by_action[binding.action] = (binding, enabled, node is app)
        items: list[KeyItem] = []
        globals_: list[KeyItem] = []
        screens: list[Binding] = []
        for binding, enabled, is_global in by_action.values():
            if binding.group is SCREENS:
                screens.append(binding)
                continue
            item = KeyItem(app.get_key_display(binding), binding.description, binding.key, enabled)
            (globals_ if is_global else items).append(item)
        if screens:
            keys = [app.get_key_display(b) for b in screens]
            shown = f"{keys[0]}-{keys[-1]}" if len(keys) > 2 else "".join(keys)
            globals_.insert(0, KeyItem(shown, SCREENS.description, screens[0].key))
        if takes_text(screen.focused):
            globals_ = [KeyItem(keys, label, press) for keys, label, press in IN_TEXT]
        palette = None
        if app.ENABLE_COMMAND_PALETTE:
            entry = active.get(app.COMMAND_PALETTE_BINDING)
            if entry is not None:
                _node, binding, enabled, _tooltip = entry
                palette = KeyItem(app.get_key_display(binding), binding.description, binding.key, enabled)
        return tuple(items), tuple(globals_), palette

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        base = self.visual_style.rich_style
        if y != 0 or width <= 0:
            return Strip.blank(width, base)
        key_style = base + self.get_component_rich_style("key-bar--key", partial=True)
        dim = self.get_component_rich_style("key-bar--disabled", partial=True)
        segments: list[Segment] = [Segment(" ", base)]
        spans: list[tuple[int, int, str]] = []

        def add(item: KeyItem, at: int) -> int:
            plain, keyed = (base, key_style) if item.enabled else (base + dim, key_style + dim)
            segments.append(Segment(item.keys, keyed))
            if item.label:
                segments.append(Segment(f" {item.label}", plain))
            spans.append((at, at + item.width, item.press))
            return at + item.width

        # The screen's keys take what the app's keys leave; then the app's, as many as fit.
        reserved = sum(item.width + GAP for item in self._global)
        x = 1
        for item in self._items:
            if x + item.width + GAP + reserved > width:
                break
            x = add(item, x)
            segments.append(Segment(" " * GAP, base))
            x += GAP
        for item in self._global:
            if x + item.width > width:
                break
            x = add(item, x)
            segments.append(Segment(" " * GAP, base))
            x += GAP
        if self._palette is not None:
            start = width - self._palette.width - 1
            if start >= x:
                segments.append(Segment(" " * (start - x), base))
                add(self._palette, start)
        self._spans = spans
        return Strip(segments).adjust_cell_length(width, base)

    def on_click(self, event: events.Click) -> None:
        for first, end, key in self._spans:
            if first <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
