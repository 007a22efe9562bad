"""How one reply's numbers read: the `ollama run --verbose` block, a one-line summary,
and the warning when a conversation is about to overflow the context window.

The CLI, the chat screen and the Markdown export all print from here, so the
same reply never shows two different speeds.
"""

from __future__ import annotations

from core.chat.types import ChatStats
from core.units import format_latency, format_tps_plain, go_duration

CONTEXT_WARNING_FRACTION = 0.8


def verbose_lines(stats: ChatStats) -> list[str]:
    """The block `ollama run --verbose` prints after a reply, line for line.

    A server without a total (llama-server) gets our wall-clock time instead;
    lines for numbers the server did not send are left out, as Ollama does.
    The time to first token, which Ollama does not print, comes last.
    """
    lines = []
    total = stats.total_s if stats.total_s is not None else stats.wall_s
    if total:
        lines.append(f"total duration:       {go_duration(total)}")
    if stats.load_s:
        lines.append(f"load duration:        {go_duration(stats.load_s)}")
    if stats.prompt_tokens:
        lines.append(f"prompt eval count:    {stats.prompt_tokens} token(s)")
    if stats.prompt_s:
        lines.append(f"prompt eval duration: {go_duration(stats.prompt_s)}")
        lines.append(f"prompt eval rate:     {(stats.prompt_tokens or 0) / stats.prompt_s:.2f} tokens/s")
    if stats.output_tokens:
        lines.append(f"eval count:           {stats.output_tokens} token(s)")
    if stats.output_s:
        lines.append(f"eval duration:        {go_duration(stats.output_s)}")
        lines.append(f"eval rate:            {(stats.output_tokens or 0) / stats.output_s:.2f} tokens/s")
    if stats.ttft_s is not None:
        lines.append(f"time to first token:  {go_duration(stats.ttft_s)}")
    return lines


def stats_line(stats: ChatStats) -> str:
    """A compact summary for under a reply: `TTFT 210 ms · prompt 26 tok @ 312 tok/s · ...`."""
    parts = []
    if stats.ttft_s is not None:
        parts.append(f"TTFT {format_latency(stats.ttft_s)}")
    for what, tokens, rate in (("prompt", stats.prompt_tokens, stats.prompt_tps),
                               ("output", stats.output_tokens, stats.output_tps)):
        if tokens is not None:
            parts.append(f"{what} {tokens} tok" + (f" @ {format_tps_plain(rate)} tok/s" if rate else ""))
    if stats.load_s:
        parts.append(f"load {format_latency(stats.load_s)}")
    total = stats.total_s if stats.total_s is not None else stats.wall_s
    if total is not None:
        parts.append(f"total {format_latency(total)}")
    return " · ".join(parts)


def context_warning(stats: ChatStats | None, context_length: int | None,
                    *, fraction: float = CONTEXT_WARNING_FRACTION) -> str | None:
    """A sentence when the conversation fills `fraction` of the context window, else None.

    `context_length` is what the server actually runs with: the chat's
    `num_ctx` when set, else the loaded model's (Ollama's /api/ps), else the
    model's trained length.
    """
    if stats is None or not context_length:
        return None
    used = stats.context_tokens
    if not used or used < fraction * context_length:
        return None
    advice = "Start a new chat, lower the history limit, or raise num_ctx."
    if used >= context_length:
        return (f"The conversation has filled the context window ({used:,} of {context_length:,} tokens): "
                f"the oldest messages no longer reach the model. {advice}")
    return (f"The conversation uses {used:,} of {context_length:,} context tokens "
            f"({used / context_length:.0%}); older messages will soon be cut off. {advice}")
