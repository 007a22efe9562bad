"""Turn Ollama's pull lines into whole-pull progress with speed and ETA.

Pure: the clock is passed in, so a test can replay a pull at any pace. Ollama
reports one layer at a time (`{status, digest, total, completed}`), re-sends a
finished layer at 100 % when it is already on disk, and resumes an interrupted
layer from the bytes it kept. Speed therefore counts only bytes that arrived
while we watched: a layer's first report is its baseline, never a burst of
"download" that in truth happened earlier.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from core.ollama.types import PullLayer, PullProgress

SPEED_WINDOW_S = 5.0  # speed is measured over this much recent time
MIN_SPAN_S = 0.5  # less than this is too little to call a speed


@dataclass
class _Layer:
    total: int
    completed: int
    baseline: int  # completed when we first saw it


class PullTracker:
    """Feed it each line of one pull; it returns the PullProgress to show."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, window: float = SPEED_WINDOW_S) -> None:
        self._clock = clock
        self._window = window
        self._layers: dict[str, _Layer] = {}
        self._samples: deque[tuple[float, int]] = deque()

    def update(self, status: str, digest: str | None = None, total: int | None = None,
               completed: int | None = None) -> PullProgress:
        now = self._clock()
        if digest and total:
            done = max(0, min(completed or 0, total))
            layer = self._layers.get(digest)
            if layer is None:
                self._layers[digest] = _Layer(total=total, completed=done, baseline=done)
            else:
                layer.total = total
                layer.completed = max(layer.completed, done)
        transferred = sum(layer.completed - layer.baseline for layer in self._layers.values())
        self._samples.append((now, transferred))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window:
            self._samples.popleft()

        completed_bytes = sum(layer.completed for layer in self._layers.values())
        total_bytes = sum(layer.total for layer in self._layers.values())
        downloading = bool(digest) and status.startswith("pulling ")
        speed = self._speed() if downloading else None
        remaining = total_bytes - completed_bytes
        eta: float | None = None
        if speed is not None and speed > 0:
            eta = remaining / speed
        elif downloading and remaining == 0:
            eta = 0.0
        return PullProgress(
            status=status, digest=digest, total=total, completed=completed,
            layers=tuple(PullLayer(d, lay.total, lay.completed) for d, lay in self._layers.items()),
            completed_bytes=completed_bytes, total_bytes=total_bytes, speed=speed, eta=eta,
        )

    def _speed(self) -> float | None:
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        if t1 - t0 < MIN_SPAN_S:
            return None
        return max(0.0, (b1 - b0) / (t1 - t0))
