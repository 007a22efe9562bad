"""Every key of every screen as a palette command, with the key shown beside it.

The screen underneath comes first (its keys and those of the focused widget
run right there), then the app's own keys, then every other screen's keys:
choosing one of those switches to that screen and runs the action there (a
key of a screen opened from another, such as the chat list, opens it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from textual.actions import parse
from textual.app import App
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import Screen

from tui.palette.places import PLACES, Place, chain, key_name, own_bindings, place_of, title_of

Run = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    title: str  # what the palette lists and matches, e.g. "Models: Pull"
    key: str  # the key that does the same, shown beside the title
    help: str
    action: str  # kept for tests: every binding's action is somewhere in the palette
    run: Run


def shown(title: Content | str, key: str) -> Content:
    """The title with its key after it, dimmed, as the palette lists a command."""
    text = title if isinstance(title, Content) else Content(title)
    return Content.assemble(text, "  ", (key, "bold dim")) if key else text


def _here(app: App[object], node: DOMNode, prefix: str) -> list[Command]:
    commands: list[Command] = []
    for binding in own_bindings(type(node)):
        name, params = parse(binding.action)[1:]
        if node.check_action(name, params) is False:
            continue  # a key that does nothing now (hidden from the key line as well)

        async def run(node: DOMNode = node, action: str = binding.action) -> None:
            await app.run_action(action, node)

        commands.append(Command(prefix + title_of(binding), key_name(app, binding), binding.tooltip,
                                binding.action, run))
    return commands


def _elsewhere(app: App[object], place: Place) -> list[Command]:
    commands: list[Command] = []
    for binding in own_bindings(place.screen_class()):
        key = key_name(app, binding)

        async def run(action: str = binding.action, title: str = title_of(binding)) -> None:
            await app.switch_mode(place.mode)
            screen = app.screen
            if place.opener is not None:  # its keys work once it is open, so it opens
                await app.run_action(place.opener, screen)
                return
            name, params = parse(action)[1:]
            if screen.check_action(name, params) is False:
                app.notify(f"{place.name}: {title} is not available now.", markup=False, timeout=4)
                return
            await app.run_action(action, screen)

        help_text = binding.tooltip
        if place.opener is not None:
            help_text = f"Opens {place.name}, where {key} does it. {help_text}".strip()
        commands.append(Command(f"{place.name}: {title_of(binding)}", key, help_text, binding.action, run))
    return commands


def _global(app: App[object]) -> list[Command]:
    commands: list[Command] = []
    for binding in own_bindings(type(app)):

        async def run(action: str = binding.action) -> None:
            await app.run_action(action)

        title = title_of(binding)
        if binding.action.startswith("switch_mode("):
            title = f"Go to the {title} screen"
        commands.append(Command(title, key_name(app, binding), binding.tooltip, binding.action, run))
    return commands


def commands_for(app: App[object], screen: Screen[object]) -> list[Command]:
    """What the palette offers on `screen`: its keys, the app's, then every other screen's."""
    here = place_of(screen)
    prefix = f"{here.name}: " if here is not None else ""
    commands: list[Command] = []
    for node in (*chain(screen.focused, screen), screen):
        commands.extend(_here(app, node, prefix))
    commands.extend(_global(app))
    for place in PLACES:
        if place is not here:
            commands.extend(_elsewhere(app, place))
    unique: dict[str, Command] = {}
    for command in commands:
        unique.setdefault(command.title, command)  # the same key on a widget and its screen: once
    return list(unique.values())


class ActionsProvider(Provider):
    """The keys of every screen, as commands."""

    async def startup(self) -> None:
        self.commands = commands_for(self.app, self.screen)

    async def discover(self) -> Hits:
        for command in self.commands:
            yield DiscoveryHit(shown(command.title, command.key), command.run, text=command.title,
                               help=command.help or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self.commands:
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, shown(matcher.highlight(command.title), command.key), command.run,
                          text=command.title, help=command.help or None)
