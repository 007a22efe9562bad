"""The top line of every screen: its title and sub-title, centred.

Textual's Header is four widgets (itself, an icon that opens the command
palette on a click, the title and a clock space), each styled and laid out
on every start-up and screen switch. This app is driven from the keyboard
(`ctrl+p` opens the palette and the bottom line says so), so one line of
text does the job.

The line ends with the host the app talks to (tui/hosts.py), on every screen
and at any width: a long title is cut first, so the host always shows.
"""

from __future__ import annotations

from textual.content import Content
from textual.events import Resize
from textual.widgets import Static

from core.config import HostConfig
from tui.hosts import current_host, host_label, watch_host


class TitleBar(Static):
    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
        content-align: center middle;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def on_mount(self) -> None:
        for node in (self.app, self.screen):
            self.watch(node, "title", self._show_title, init=False)
            self.watch(node, "sub_title", self._show_title, init=False)
        watch_host(self, self._host_changed, init=False)
        self._show_title()

    def on_resize(self, event: Resize) -> None:
        self._show_title()

    def _host_changed(self, host: HostConfig) -> None:
        self._show_title()

    def _show_title(self) -> None:
        screen, app = self.screen, self.app
        title = screen.title if screen.title is not None else app.title
        sub_title = screen.sub_title if screen.sub_title is not None else app.sub_title
        line = app.format_title(title, sub_title)
        host = current_host(self)
        if host is None or sub_title == host.name or sub_title.startswith(host.name + " ·"):
            self.update(line)  # no app host, or the sub-title already starts with it (the model browser)
            return
        tail = f" · host {host_label(host)}"
        room = max(1, (self.size.width or 80) - len(tail) - 2)
        if line.cell_length > room:
            line = line.truncate(room, ellipsis=True)
        self.update(line + Content.styled(tail, "bold"))
