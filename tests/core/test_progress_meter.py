"""Speed, ETA and report throttling of a stage's progress, on a controlled clock."""

from __future__ import annotations

import pytest

from core.pipeline.progress import WINDOW_SECONDS, ProgressMeter
from core.pipeline.types import StageProgress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_speed_and_eta_follow_the_bytes_that_arrive() -> None:
    clock, seen = Clock(), list[StageProgress]()
    meter = ProgressMeter("download", seen.append, interval=0.0, clock=clock)
    meter.update(0.0, 0, 1000)
    clock.now += 1
    meter.update(0.1, 100, 1000)
    clock.now += 1
    meter.update(0.2, 200, 1000)
    assert seen[0].speed is None  # one reading is no rate
    assert seen[-1].speed == pytest.approx(100.0)
    assert seen[-1].eta == pytest.approx(8.0)


def test_speed_forgets_readings_older_than_its_window() -> None:
    clock, seen = Clock(), list[StageProgress]()
    meter = ProgressMeter("download", seen.append, interval=0.0, clock=clock)
    for _ in range(10):  # 100 B/s for 10 s ...
        meter.update(None, int((clock.now - 100) * 100), 10_000)
        clock.now += 1
    start = clock.now - 1
    done = seen[-1].done_bytes or 0
    for i in range(1, int(WINDOW_SECONDS) + 3):  # ... then 1000 B/s
        clock.now = start + i
        meter.update(None, done + i * 1000, 10_000)
    assert seen[-1].speed == pytest.approx(1000.0)


def test_reports_are_throttled_but_forced_ones_always_pass() -> None:
    clock, seen = Clock(), list[StageProgress]()
    meter = ProgressMeter("quantize", seen.append, interval=0.5, clock=clock)
    for _ in range(10):
        meter.update(0.5)
        clock.now += 0.1
    assert len(seen) == 2  # at t=0 and t=0.5
    meter.update(1.0, force=True)
    assert seen[-1].fraction == 1.0 and len(seen) == 3
