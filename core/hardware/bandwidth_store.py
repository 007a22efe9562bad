"""The last RAM bandwidth measured on this machine, kept with its date.

Measuring takes about a second and moves half a gigabyte, so it happens only
on request (`b` on the dashboard or the planner, `llamadeck hw --bandwidth`,
`llamadeck plan --measure-bw`); the figure is then kept in the cache folder
and every later plan uses it, saying when it was measured. A file that cannot
be read or parsed counts as no measurement (the plan then says it assumes a
figure), and a file that cannot be written is reported to the caller.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from core.errors import HardwareError
from core.hardware.types import BandwidthResult
from core.paths import cache_dir

FILE_NAME = "ram-bandwidth.json"


def store_path() -> Path:
    return cache_dir() / FILE_NAME


def load_bandwidth(path: Path | None = None) -> BandwidthResult | None:
    """The stored measurement of this host, or None when there is none (or it is unreadable or another's)."""
    try:
        doc = json.loads((path or store_path()).read_text(encoding="utf-8"))
        if doc.get("host") != socket.gethostname():  # a cache folder shared over NFS with another box
            return None
        result = BandwidthResult(
            bytes_per_second=float(doc["bytes_per_second"]),
            buffer_bytes=int(doc["buffer_bytes"]),
            seconds=float(doc["seconds"]),
            method=str(doc["method"]),
            measured_at=str(doc["measured_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return result if result.bytes_per_second > 0 else None


def save_bandwidth(result: BandwidthResult, path: Path | None = None) -> None:
    """Keep `result` for later plans; the write is atomic (a half-written file is never read)."""
    target = path or store_path()
    doc = {
        "host": socket.gethostname(),
        "bytes_per_second": result.bytes_per_second,
        "buffer_bytes": result.buffer_bytes,
        "seconds": result.seconds,
        "method": result.method,
        "measured_at": result.measured_at,
    }
    part = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        part.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        os.replace(part, target)
    except OSError as exc:
        raise HardwareError(
            f"Measured RAM bandwidth, but could not keep it in {target} ({exc.strerror or exc}); "
            "this plan uses it, later ones will not."
        ) from exc
