"""Speed and ETA for a stage, and a cap on how often its progress is reported.

Speed is measured over a sliding window (a few seconds) rather than since the
start, so it follows a download that slows down or a converter that speeds up
once torch is loaded; the ETA follows from it. Progress is reported at most
`interval` seconds apart (plus the final reading), which keeps a fast tool from
flooding a slow terminal or an SSH link.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from core.pipeline.types import StageProgress

WINDOW_SECONDS = 5.0
DEFAULT_INTERVAL = 0.1


class ProgressMeter:
    def __init__(
        self,
        stage: str,
        emit: Callable[[StageProgress], None],
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stage = stage
        self._emit = emit
        self.interval = interval
        self._clock = clock
        self._samples: deque[tuple[float, float]] = deque()  # (time, bytes or fraction)
        self._last_emit = float("-inf")
        self.last: StageProgress | None = None

    def update(
        self,
        fraction: float | None,
        done_bytes: int | None = None,
        total_bytes: int | None = None,
        detail: str = "",
        *,
        force: bool = False,
    ) -> None:
        now = self._clock()
        measure = float(done_bytes) if done_bytes is not None else fraction
        if measure is not None:
            self._samples.append((now, measure))
            while len(self._samples) > 2 and now - self._samples[0][0] > WINDOW_SECONDS:
                self._samples.popleft()
        if not force and now - self._last_emit < self.interval:
            return
        rate = self._rate()
        speed = rate if done_bytes is not None else None
        eta: float | None = None
        if rate and rate > 0:
            if done_bytes is not None and total_bytes:
                eta = max(0.0, (total_bytes - done_bytes) / rate)
            elif done_bytes is None and fraction is not None:
                eta = max(0.0, (1.0 - fraction) / rate)
        if fraction is not None:
            fraction = min(1.0, max(0.0, fraction))
        self.last = StageProgress(self.stage, fraction, done_bytes, total_bytes, speed, eta, detail)
        self._last_emit = now
        self._emit(self.last)

    def rebase(self) -> None:
        """Forget the speed samples: the next reading jumps for a reason other than work done
        (a resumed download counting what was already on disk)."""
        self._samples.clear()

    def _rate(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, v0), (t1, v1) = self._samples[0], self._samples[-1]
        if t1 - t0 < 0.2:  # too short to say anything
            return None
        return (v1 - v0) / (t1 - t0)
