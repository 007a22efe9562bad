"""Pull progress aggregation, replayed on an injected clock."""

from __future__ import annotations

import pytest

from core.ollama.pull import PullTracker

A = "sha256:" + "a" * 64
B = "sha256:" + "b" * 64
MB = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_speed_and_eta_from_a_steady_download() -> None:
    clock = Clock()
    t = PullTracker(clock=clock)
    first = t.update("pulling manifest")
    assert (first.speed, first.eta, first.total_bytes) == (None, None, 0)
    p = t.update("pulling aaaaaaaaaaaa", A, 100 * MB)  # no `completed` yet, as Ollama sends it
    assert p.completed is None and p.completed_bytes == 0 and p.speed is None
    for second in range(1, 5):
        clock.now += 1
        p = t.update("pulling aaaaaaaaaaaa", A, 100 * MB, 10 * MB * second)
    assert p.speed == pytest.approx(10 * MB)
    assert p.eta == pytest.approx(6.0)  # 60 MB left at 10 MB/s
    assert p.fraction == pytest.approx(0.4)


def test_resumed_bytes_are_not_counted_as_speed() -> None:
    clock = Clock()
    t = PullTracker(clock=clock)
    t.update("pulling aaaaaaaaaaaa", A, 100 * MB, 70 * MB)  # 70 MB were on disk from an earlier pull
    clock.now += 1
    p = t.update("pulling aaaaaaaaaaaa", A, 100 * MB, 75 * MB)
    assert p.speed == pytest.approx(5 * MB)
    assert p.completed_bytes == 75 * MB
    assert p.eta == pytest.approx(5.0)


def test_a_layer_already_on_disk_is_not_a_burst() -> None:
    clock = Clock()
    t = PullTracker(clock=clock)
    t.update("pulling aaaaaaaaaaaa", A, 100 * MB, 0)
    clock.now += 2
    t.update("pulling aaaaaaaaaaaa", A, 100 * MB, 100 * MB)
    clock.now += 0.1
    p = t.update("pulling bbbbbbbbbbbb", B, 500 * MB, 500 * MB)  # cache hit: reported complete at once
    assert p.speed == pytest.approx(100 * MB / 2.1)
    assert [(layer.digest, layer.done) for layer in p.layers] == [(A, True), (B, True)]
    assert p.total_bytes == p.completed_bytes == 600 * MB


def test_speed_uses_only_the_recent_window() -> None:
    clock = Clock()
    t = PullTracker(clock=clock, window=5.0)
    t.update("pulling aaaaaaaaaaaa", A, 1000 * MB, 0)
    done = 0
    for _ in range(10):  # fast at first ...
        clock.now += 1
        done += 50 * MB
        t.update("pulling aaaaaaaaaaaa", A, 1000 * MB, done)
    for _ in range(10):  # ... then slow: the speed follows within the window
        clock.now += 1
        done += 5 * MB
        p = t.update("pulling aaaaaaaaaaaa", A, 1000 * MB, done)
    assert p.speed == pytest.approx(5 * MB)


def test_a_stall_reads_zero_speed_and_no_eta() -> None:
    clock = Clock()
    t = PullTracker(clock=clock, window=2.0)
    t.update("pulling aaaaaaaaaaaa", A, 100 * MB, 10 * MB)
    for _ in range(5):
        clock.now += 1
        p = t.update("pulling aaaaaaaaaaaa", A, 100 * MB, 10 * MB)
    assert p.speed == 0.0
    assert p.eta is None


def test_no_speed_from_a_too_short_span_or_after_the_download() -> None:
    clock = Clock()
    t = PullTracker(clock=clock)
    t.update("pulling aaaaaaaaaaaa", A, 100 * MB, 0)
    clock.now += 0.1
    assert t.update("pulling aaaaaaaaaaaa", A, 100 * MB, 50 * MB).speed is None
    clock.now += 1
    assert t.update("verifying sha256 digest").speed is None
    done = t.update("success")
    assert done.done and done.completed_bytes == 50 * MB


def test_completed_never_goes_backwards_or_past_total() -> None:
    t = PullTracker(clock=Clock())
    t.update("pulling aaaaaaaaaaaa", A, 100, 60)
    p = t.update("pulling aaaaaaaaaaaa", A, 100, 40)
    assert p.completed_bytes == 60
    p = t.update("pulling aaaaaaaaaaaa", A, 100, 400)
    assert p.completed_bytes == 100
