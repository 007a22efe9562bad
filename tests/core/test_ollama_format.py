"""Sizes, times and tables printed like the `ollama` CLI prints them (format/bytes.go, format/time.go)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.ollama.format import human_time, table, until
from core.units import format_bytes_decimal, go_duration_whole

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("n", "text"), [
    (4_683_075_271, "4.7 GB"), (2_019_393_189, "2.0 GB"), (5_000_000_000, "5 GB"), (12_400_000_000, "12 GB"),
    (274_302_450, "274 MB"), (1_481, "1.5 KB"), (96, "96 B"), (0, "0 B"), (1_000, "1 KB"),
    (1_950_000_000_000, "1.9 TB"), (999_999, "999 KB"),
])
def test_human_bytes(n: int, text: str) -> None:
    assert format_bytes_decimal(n) == text


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(seconds=0.5), "Less than a second ago"),
    (timedelta(seconds=1), "1 second ago"),
    (timedelta(seconds=42), "42 seconds ago"),
    (timedelta(seconds=90), "About a minute ago"),
    (timedelta(minutes=59), "59 minutes ago"),
    (timedelta(minutes=61), "About an hour ago"),
    (timedelta(hours=5), "5 hours ago"),
    (timedelta(hours=47), "47 hours ago"),
    (timedelta(days=3), "3 days ago"),
    (timedelta(days=20), "2 weeks ago"),
    (timedelta(days=90), "3 months ago"),
    (timedelta(days=800), "2 years ago"),
    (timedelta(minutes=-4, seconds=-30), "4 minutes from now"),
    (timedelta(days=-365 * 21), "Forever"),
])
def test_human_time(delta: timedelta, text: str) -> None:
    assert human_time(NOW - delta, now=NOW) == text


def test_human_time_edges() -> None:
    assert human_time(None) == "Never"
    assert human_time(datetime(2025, 6, 1, 11, 0), now=NOW) == "About an hour ago"  # naive = UTC
    # 20 years ahead is not yet "Forever": Go's integer division truncates toward zero
    assert human_time(NOW + timedelta(days=365 * 20 + 300), now=NOW) == "20 years from now"


def test_until_column() -> None:
    assert until(NOW + timedelta(minutes=4, seconds=59), now=NOW) == "4 minutes from now"
    assert until(NOW - timedelta(seconds=1), now=NOW) == "Stopping..."
    assert until(None, now=NOW) == "Never"
    assert until(datetime(2318, 1, 1, tzinfo=UTC), now=NOW) == "Forever"  # keep_alive: -1


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (45.4, "45s"), (68, "1m8s"), (3605, "1h0m5s"),
                                                (-3, "0s")])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration_whole(seconds) == text


def test_table_aligns_columns_like_ollama() -> None:
    out = table(["NAME", "SIZE"], [["llama3.2:latest", "2.0 GB"], ["a", "274 MB"]])
    assert out.splitlines() == [
        "NAME               SIZE",
        "llama3.2:latest    2.0 GB",
        "a                  274 MB",
    ]
