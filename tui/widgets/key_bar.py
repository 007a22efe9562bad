"""The bottom line of every screen: its keys, `q Quit` and `? Help` always among them.

Textual's Footer builds a widget per key (fourteen on the dashboard, each
styled, laid out and recomposed whenever the bindings change), and it does so
before the app's first frame reaches the terminal. This bar is one widget
that draws one line from the screen's active bindings, with the same rules
as the Footer: hidden bindings are left out, several keys for one action
show the first, a compact binding group shows its keys run together with
the group's name (`12345 Screens`), disabled keys are dimmed, and the
command palette's key sits at the right end when there is room. A click on
a key presses it, as with the Footer.
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

GAP = 2  # blank cells between two items


@dataclass(frozen=True)
class KeyItem:
    """One item of the bar: what is shown for the key, its label, and the key a click presses."""

    keys: str
    label: str
    press: str
    enabled: bool = True


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
        self._palette: KeyItem | None = None
        self._spans: list[tuple[int, int, str]] = []  # (first cell, end cell, key) as last drawn

    @property
    def items(self) -> tuple[KeyItem, ...]:
        return self._items

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is not self.screen:
            return
        items, palette = self._collect(screen)
        if (items, palette) != (self._items, self._palette):
            self._items, self._palette = items, palette
            self.refresh()

    def _collect(self, screen: Screen[object]) -> tuple[tuple[KeyItem, ...], KeyItem | None]:
        app = self.app
        active = screen.active_bindings
        by_action: dict[str, tuple[Binding, bool]] = {}
        for _node, binding, enabled, _tooltip in active.values():
            if binding.show and binding.action not in by_action:
                by_action[binding.action] = (binding, enabled)
        # Runs of bindings in one compact group become one item; a group with
        # one binding showing is an ordinary item (as in Textual's Footer).
        runs: list[list[tuple[Binding, bool]]] = []
        for binding, enabled in by_action.values():
            group = binding.group
            if runs and group is not None and group.compact and runs[-1][0][0].group is group:
                runs[-1].append((binding, enabled))
            else:
                runs.append([(binding, enabled)])
        items: list[KeyItem] = []
        for run in runs:
            first, enabled = run[0]
            if len(run) > 1 and first.group is not None:
                keys = "".join(app.get_key_display(b) for b, _ in run)
                items.append(KeyItem(keys, first.group.description, first.key, any(e for _, e in run)))
            else:
                items.append(KeyItem(app.get_key_display(first), first.description, first.key, enabled))
        palette = None
        if app.ENABLE_COMMAND_PALETTE:
            entry = active.get(app.COMMAND_PALETTE_BINDING)
            if entry is not None:
                _node, binding, enabled, _tooltip = entry
                palette = KeyItem(app.get_key_display(binding), binding.description, binding.key, enabled)
        return tuple(items), palette

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        base = self.visual_style.rich_style
        if y != 0 or width <= 0:
            return Strip.blank(width, base)
        key_style = base + self.get_component_rich_style("key-bar--key", partial=True)
        dim = self.get_component_rich_style("key-bar--disabled", partial=True)
        segments: list[Segment] = []
        spans: list[tuple[int, int, str]] = []
        x = 1
        segments.append(Segment(" ", base))

        def add(item: KeyItem, at: int) -> int:
            plain, keyed = (base, key_style) if item.enabled else (base + dim, key_style + dim)
            segments.append(Segment(item.keys, keyed))
            end = at + cell_len(item.keys)
            if item.label:
                segments.append(Segment(f" {item.label}", plain))
                end += 1 + cell_len(item.label)
            spans.append((at, end, item.press))
            return end

        for item in self._items:
            needed = cell_len(item.keys) + (1 + cell_len(item.label) if item.label else 0)
            if x + needed > width:
                break
            x = add(item, x)
            segments.append(Segment(" " * GAP, base))
            x += GAP
        if self._palette is not None:
            needed = cell_len(self._palette.keys) + 1 + cell_len(self._palette.label)
            start = width - needed - 1
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
