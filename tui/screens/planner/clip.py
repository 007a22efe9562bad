"""What the planner's copy keys put on the clipboard: the row's llama-server command or Ollama settings."""

from __future__ import annotations

from core.planner.report import llama_server_command, ollama_lines
from core.planner.source import PlannedModel
from core.planner.types import Plan, QuantRow

TMUX_HINT = "Copied with OSC 52; inside tmux add `set -g set-clipboard on` to ~/.tmux.conf."


def clip_text(plan: Plan, row: QuantRow, model: PlannedModel, what: str) -> tuple[str | None, str]:
    """(the text to copy, the notice's title), or (None, why not) for a row that does not fit."""
    if what == "command":
        command = llama_server_command(plan, row, model)
        if command is None:
            return None, f"{row.quant} does not fit this machine, so there is no command to run it."
        return command, "Copied the llama-server command"
    lines = ollama_lines(plan, row, model)
    if lines is None:
        return None, f"{row.quant} does not fit this machine, so there are no settings to run it."
    text = "# environment of `ollama serve`\n" + lines[0] + "\n\n# Modelfile\n" + "\n".join(lines[1:]) + "\n"
    return text, "Copied the Ollama settings"
