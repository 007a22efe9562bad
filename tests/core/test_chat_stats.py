"""Reply stats read the way `ollama run --verbose` prints them, and warn before the context fills."""

from __future__ import annotations

import pytest

from core.chat.stats import context_warning, stats_line, verbose_lines
from core.chat.types import ChatStats
from core.units import go_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (120e-9, "120ns"),
        (850e-6, "850µs"),
        (1.5e-6, "1.5µs"),
        (0.061145167, "61.145167ms"),
        (0.007856417, "7.856417ms"),
        (1.0, "1s"),
        (7.945641583, "7.945641583s"),
        (63.5, "1m3.5s"),
        (120, "2m0s"),
        (3602, "1h0m2s"),
        (-0.5, "-500ms"),
    ],
)
def test_go_duration_matches_go(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_verbose_block_matches_ollama_line_for_line() -> None:
    # The numbers of a real `ollama run --verbose` (deepseek-r1:1.5b), in seconds.
    stats = ChatStats(total_s=7.945641583, load_s=0.018, prompt_tokens=18, prompt_s=0.061145167,
                      output_tokens=1003, output_s=9.638424, ttft_s=0.25)
    assert verbose_lines(stats) == [
        "total duration:       7.945641583s",
        "load duration:        18ms",
        "prompt eval count:    18 token(s)",
        "prompt eval duration: 61.145167ms",
        "prompt eval rate:     294.38 tokens/s",
        "eval count:           1003 token(s)",
        "eval duration:        9.638424s",
        "eval rate:            104.06 tokens/s",
        "time to first token:  250ms",
    ]


def test_verbose_block_without_server_total_uses_wall_time() -> None:
    stats = ChatStats(wall_s=2.5, output_tokens=10, output_s=0.5)
    assert verbose_lines(stats) == [
        "total duration:       2.5s",
        "eval count:           10 token(s)",
        "eval duration:        500ms",
        "eval rate:            20.00 tokens/s",
    ]


def test_stats_line() -> None:
    stats = ChatStats(ttft_s=0.21, prompt_tokens=26, prompt_s=0.0833, output_tokens=180, output_s=4.28,
                      load_s=1.2, total_s=5.3)
    assert stats_line(stats) == (
        "TTFT 210 ms · prompt 26 tok @ 312 tok/s · output 180 tok @ 42.1 tok/s · load 1.20 s · total 5.30 s"
    )
    assert stats_line(ChatStats()) == ""


def test_rates_and_context_tokens() -> None:
    stats = ChatStats(prompt_tokens=100, prompt_s=0.5, cached_tokens=900, output_tokens=50, output_s=0.0)
    assert stats.prompt_tps == 200.0
    assert stats.output_tps is None  # no duration, no made-up rate
    assert stats.context_tokens == 1050


@pytest.mark.parametrize(
    ("used", "ctx", "expect"),
    [
        (1000, 4096, None),
        (3276, 4096, None),  # just under 80 %
        (3300, 4096, "3,300 of 4,096 context tokens (81%)"),
        (4096, 4096, "filled the context window (4,096 of 4,096 tokens)"),
        (5000, None, None),
    ],
)
def test_context_warning(used: int, ctx: int | None, expect: str | None) -> None:
    warning = context_warning(ChatStats(prompt_tokens=used), ctx)
    if expect is None:
        assert warning is None
    else:
        assert warning is not None and expect in warning and "num_ctx" in warning
