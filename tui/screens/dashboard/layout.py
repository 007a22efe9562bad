"""How the dashboard lays out: its scrolling body, and what the terminal's size decides.

The screen's breakpoint classes are worked out before its first frame
(`breakpoint_classes`), and the history rows of the panels from the height
(`history_rows`), which changes two panels instead of restyling the screen.
"""

from __future__ import annotations

from textual.containers import VerticalScroll


class DashboardBody(VerticalScroll, can_focus=False):
    """The scrolling body. It never takes focus: the screen's own keys scroll it.

    Focus on a container restyles it and everything in it (for `:focus-within`),
    which on this screen is most of the start-up time after Textual's own; with
    nothing focused the screen's bindings answer the keys directly.
    """


def history_rows(height: int, gpus: int) -> tuple[int, int]:
    """How many rows each history takes on a GPU panel and on the CPU panel.

    Taller terminals get taller history and several GPUs share the height.
    Several GPUs on a short terminal keep every GPU's gauges and the process
    table on screen, and leave the GPU history (and clock line) to taller ones.
    """
    several = gpus > 1
    if gpus == 0:  # CPU only: the processes and Ollama panels take the GPU panels' place
        return 0, (1 if height < 28 else 2 if height < 36 else 3)
    if height < 28:
        return (0 if several else 2), 2
    if height < 36:
        return (1, 1) if several else (3, 3)
    return (2, 2) if several else (4, 4)


def breakpoint_classes(size: tuple[int, int], horizontal: list[tuple[int, str]],
                       vertical: list[tuple[int, str]]) -> dict[str, bool]:
    """The classes Textual's screen sets from its breakpoints for `size` (width, height)."""
    classes = {name: False for _, name in (*horizontal, *vertical)}
    for dimension, points in ((size[0], horizontal), (size[1], vertical)):
        reached = [(at, name) for at, name in points if dimension >= at]
        if reached:
            classes[max(reached)[1]] = True
    return classes
