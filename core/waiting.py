"""What to say while a server has accepted a request and not answered yet.

A big model can take minutes to load before its first token, so waiting is
legitimate; silence is not. The CLI (on stderr) and the chat screen (in the
reply's border) say the same words with the time waited so far, so a user can
tell a loading model from a dead connection and decide to stop (Esc, Ctrl-C).
"""

from __future__ import annotations

WAITING = "waiting for the server to answer (loading the model?)"


def elapsed_text(seconds: float) -> str:
    """Whole seconds as a user counts them: "12 s", "2 min 05 s", "1 h 02 min"."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    minutes, s = divmod(s, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def waiting_text(seconds: float) -> str:
    return f"{WAITING} {elapsed_text(seconds)}"


def loading_text(seconds: float, loading: bool | None) -> str:
    """The wait before the first token, when the server's loaded models are known (Ollama's /api/ps):
    the model is still being loaded, or it is in memory and the server reads the prompt."""
    if loading is None:
        return waiting_text(seconds)
    if loading:
        return f"loading the model into memory · {elapsed_text(seconds)}"
    return f"model in memory, reading the prompt · {elapsed_text(seconds)}"
