"""Keys typed while a screen switch is on its way go to the screen now in front, not to the one left.

The app forwards each key to the screen in front when it reads it. A key typed
right after `3` is read before `3`'s binding has switched screens, so it goes
to the old screen, finds nothing there and comes back to the app, which would
then try it as a binding of the new screen: the first letters of a model name
typed into the planner were lost, or worse, ran the planner's keys (#14).
A key that comes back from a screen that is no longer in front is sent again,
keeping the time it was typed, so the new screen sees it as typed ahead.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from textual import events
from textual.screen import Screen


class KeyRouter:
    def __init__(self) -> None:
        self._sent_to: WeakKeyDictionary[events.Key, Screen[object]] = WeakKeyDictionary()

    def stale(self, event: events.Event, screen: Screen[object]) -> events.Key | None:
        """The key to send again when `event` came back from a screen other than `screen`, else None."""
        if not isinstance(event, events.Key):
            return None
        if not event.is_forwarded:
            self._sent_to[event] = screen
            return None
        sent_to = self._sent_to.pop(event, None)
        if sent_to is None or sent_to is screen:
            return None
        again = events.Key(event.key, event.character)
        again.time = event.time
        return again
