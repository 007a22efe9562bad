"""Where each screen's keys live: the one list the palette, the help screen and their tests read.

Bindings are read from llamadeck's own classes only (a class whose module is
under `tui.`), so Textual's built-ins (`super+c Copy selected text`, the
cursor keys of a text box) are neither commands nor help rows.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

from textual.app import App
from textual.binding import Binding, BindingType
from textual.dom import DOMNode


@dataclass(frozen=True)
class Place:
    """A screen a user can be on: the app mode that shows it and its name on the title line."""

    mode: str
    name: str
    path: str  # "module:Class", imported only when the palette or help needs it
    opener: str | None = None  # for a screen opened from the mode's screen: the action there that opens it

    def screen_class(self) -> type[DOMNode]:
        module, _, name = self.path.partition(":")
        cls: type[DOMNode] = getattr(importlib.import_module(module), name)
        return cls


PLACES: tuple[Place, ...] = (
    Place("dashboard", "Dashboard", "tui.screens.dashboard.screen:DashboardScreen"),
    Place("models", "Models", "tui.screens.models.screen:ModelsScreen"),
    Place("planner", "Planner", "tui.screens.planner.screen:PlannerScreen"),
    Place("chat", "Chat", "tui.screens.chat.screen:ChatScreen"),
    Place("jobs", "Jobs", "tui.screens.jobs.screen:JobsScreen"),
    Place("discover", "Discover", "tui.screens.discover.screen:DiscoverScreen"),
    Place("chat", "Chats", "tui.screens.chat.sessions:SessionsScreen", opener="sessions"),
    Place("chat", "Compare", "tui.screens.chat.compare:CompareScreen", opener="compare"),
)

SCREEN_NAMES = {p.mode: p.name for p in PLACES if p.opener is None}


def as_binding(entry: BindingType) -> Binding:
    return entry if isinstance(entry, Binding) else Binding(*entry)


def own_bindings(cls: type[DOMNode]) -> list[Binding]:
    """The bindings llamadeck's classes in `cls`'s ancestry declare, subclass first, each once."""
    found: list[Binding] = []
    seen: set[tuple[str, str]] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("tui."):
            continue
        for entry in klass.__dict__.get("BINDINGS", ()):
            binding = as_binding(entry)
            if (binding.key, binding.action) not in seen:
                seen.add((binding.key, binding.action))
                found.append(binding)
    return found


def place_of(node: DOMNode) -> Place | None:
    for place in PLACES:
        if type(node).__module__ + ":" + type(node).__name__ == place.path:
            return place
    return None


def chain(node: DOMNode | None, stop: DOMNode) -> Iterator[DOMNode]:
    """`node` and its ancestors below `stop` (the focused widget up to its screen)."""
    while node is not None and node is not stop:
        yield node
        node = node.parent


def key_name(app: App[object], binding: Binding, *, every: bool = False) -> str:
    """The key as the key line shows it (`^r`, `?`); with `every`, each key of "d,delete"."""
    if binding.key_display:
        return binding.key_display
    keys = [k.strip() for k in binding.key.split(",") if k.strip()]
    names = [app.get_key_display(replace(binding, key=k)) for k in (keys if every else keys[:1])]
    return ", ".join(names)


def title_of(binding: Binding) -> str:
    return binding.description or binding.action.replace("_", " ")
