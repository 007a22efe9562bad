"""RAM bandwidth, measured: the number that bounds tokens/s for layers left on the CPU.

The DIMM speed is only readable through dmidecode as root, and it would still
not say how many channels are populated, so a short copy benchmark measures
what the machine actually delivers. Bytes are counted STREAM-style (read +
written), and the copy runs on one thread per physical core because a single
core cannot saturate a multi-channel memory controller, while llama.cpp's
threads do.
"""

from __future__ import annotations

import itertools
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import psutil

from core.errors import HardwareError
from core.hardware.types import BandwidthResult


def _default_threads() -> int:
    return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)


def measure_ram_bandwidth(
    buffer_bytes: int = 256 * 2**20,
    min_seconds: float = 0.3,
    *,
    threads: int | None = None,
) -> BandwidthResult:
    """Best copy rate over repeated rounds lasting at least `min_seconds` in total.

    The buffer must be much larger than the last-level cache (256 MiB beats
    every desktop and most server L3s) or the result is cache bandwidth.
    The best round is kept because interference only ever slows a round down.
    """
    if buffer_bytes < 2**16:
        raise HardwareError(
            f"A RAM bandwidth test needs a buffer of at least 64 KiB, not {buffer_bytes} bytes."
        )
    import numpy as np  # only when measuring: keeps numpy out of every start-up

    n_threads = max(1, threads if threads is not None else _default_threads())
    words = buffer_bytes // 8
    try:
        src = np.ones(words, dtype=np.float64)  # touching every page now keeps page faults out of the timing
        dst = np.zeros(words, dtype=np.float64)
    except MemoryError as exc:
        raise HardwareError(
            f"Not enough free RAM for two {buffer_bytes / 2**20:.0f} MiB buffers to measure RAM bandwidth; "
            "close something or try a smaller buffer."
        ) from exc
    bounds = np.linspace(0, words, n_threads + 1, dtype=np.int64)
    chunks = [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]

    def copy(chunk: tuple[int, int]) -> None:
        a, b = chunk
        np.copyto(dst[a:b], src[a:b])  # numpy releases the GIL for plain copies

    with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
        list(pool.map(copy, chunks))  # warm-up: first-touch and thread start-up
        best = float("inf")
        spent = 0.0
        rounds = 0
        while spent < min_seconds or rounds < 3:
            start = time.perf_counter()
            list(pool.map(copy, chunks))
            elapsed = time.perf_counter() - start
            best = min(best, elapsed)
            spent += elapsed
            rounds += 1
    moved = 2 * words * 8  # each byte is read once and written once
    return BandwidthResult(
        bytes_per_second=moved / best,
        buffer_bytes=words * 8,
        seconds=spent,
        method=f"numpy copy, {len(chunks)} thread{'s' if len(chunks) != 1 else ''}, best of {rounds}",
        measured_at=datetime.now().astimezone().isoformat(timespec="seconds"),
    )
