"""The dashboard's readings: one long-lived thread that waits for the tick, reads the probe, posts.

A loop in one thread, not a worker per tick: a tick then costs one message
instead of a worker's life cycle, and a driver call that hangs holds up this
thread alone instead of piling up new ones. Each reading comes back as a
`SampleTaken` message that replaces any older one still queued, so a slow
terminal shows the newest reading instead of catching up on stale ones.
Keys that change the interval, pause or resume wake the thread, which starts
the next reading at once.

`Sampler` is plain state and the loop; the screen runs `Sampler.run` in its
thread worker (a widget for it would cost the dashboard's first frame).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from textual.message import Message

from core.hardware.probe import HardwareProbe
from core.hardware.processes import ProcessRecord, top_processes
from core.hardware.types import BandwidthResult, DiskInfo, MachineInfo, SystemSample

MIN_REFRESH_S = 0.25
MAX_REFRESH_S = 10.0
REFRESH_STEPS_S = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
DISKS_EVERY_S = 30.0
PROCESSES_EVERY_S = 2.0  # a walk over every process costs more than a reading
FIRST_PROCESSES_S = 0.5
TOP_PROCESSES = 12


def clamp_refresh(seconds: float) -> float:
    return min(MAX_REFRESH_S, max(MIN_REFRESH_S, seconds))


def next_refresh(current: float, direction: int) -> float:
    """The next step up (`+1`, slower) or down (`-1`, faster), staying within 0.25-10 s.

    A configured value between steps (say 0.75 s) moves to its neighbouring step.
    """
    if direction > 0:
        bigger = [s for s in REFRESH_STEPS_S if s > current + 1e-9]
        return bigger[0] if bigger else MAX_REFRESH_S
    smaller = [s for s in REFRESH_STEPS_S if s < current - 1e-9]
    return smaller[-1] if smaller else MIN_REFRESH_S


class SampleTaken(Message):
    """One live reading. A newer one replaces an older one still in the queue."""

    def __init__(self, sample: SystemSample) -> None:
        super().__init__()
        self.sample = sample

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SampleTaken)


class SampleFailed(Message):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class DisksRead(Message):
    def __init__(self, disks: tuple[DiskInfo, ...]) -> None:
        super().__init__()
        self.disks = disks


class ProcessesRead(Message):
    """The processes using the most RAM and CPU; a newer list replaces an older one still queued."""

    def __init__(self, processes: tuple[ProcessRecord, ...]) -> None:
        super().__init__()
        self.processes = processes

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ProcessesRead)


class MachineProbed(Message):
    """The static facts are in; the screen can build one panel per GPU."""

    def __init__(self, info: MachineInfo) -> None:
        super().__init__()
        self.info = info


class BandwidthMeasured(Message):
    def __init__(self, result: BandwidthResult | None, error: str | None = None) -> None:
        super().__init__()
        self.result = result
        self.error = error


class Sampler:
    """How often to read, whether paused, and the loop that reads."""

    def __init__(self, probe: HardwareProbe, interval: float) -> None:
        self.probe = probe
        self.interval = clamp_refresh(interval)
        self.paused = False
        self.disks_read_at = 0.0
        self.with_processes = False  # the screen turns it on where it shows them
        # the first walk over every process comes FIRST_PROCESSES_S after start, not before the first frame
        self.processes_read_at = time.monotonic() - PROCESSES_EVERY_S + FIRST_PROCESSES_S
        self._wake = threading.Event()  # the thread waits on this between readings
        self._stopping = False

    def set_interval(self, seconds: float) -> None:
        """Read every `seconds` (clamped to 0.25-10 s), starting now."""
        self.interval = clamp_refresh(seconds)
        self._wake.set()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        self._wake.set()

    def stop(self) -> None:
        """Let the thread end now instead of at its next tick (up to 10 s)."""
        self._stopping = True
        self._wake.set()

    def run(self, cancelled: Callable[[], bool], post: Callable[[Message], object]) -> None:
        """The thread's loop: the first reading straight away, then one per interval until stopped."""
        next_at = time.monotonic()
        while not (self._stopping or cancelled()):
            timeout = None if self.paused else max(0.0, next_at - time.monotonic())
            if self._wake.wait(timeout):
                self._wake.clear()
                next_at = time.monotonic()
                continue
            self._read(post, with_disks=time.monotonic() - self.disks_read_at >= DISKS_EVERY_S)
            next_at = max(next_at + self.interval, time.monotonic())

    def _read(self, post: Callable[[Message], object], *, with_disks: bool) -> None:
        """The probe promises not to raise; this still keeps a broken one visible."""
        try:
            post(SampleTaken(self.probe.sample()))
            if self.with_processes and time.monotonic() - self.processes_read_at >= PROCESSES_EVERY_S:
                self.processes_read_at = time.monotonic()
                post(ProcessesRead(top_processes(self.probe.processes(), TOP_PROCESSES)))
            if with_disks:
                self.disks_read_at = time.monotonic()
                post(DisksRead(self.probe.disks()))
        except Exception as exc:
            post(SampleFailed(f"Reading the hardware failed ({type(exc).__name__}: {exc})."))
