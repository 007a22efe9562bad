"""Free space on the folders models live in.

Disks filling up is the failure users hit most (a converted f16 GGUF is huge,
and `ollama create` copies it again), so every model folder is reported even
before it exists: a folder that is not there yet is measured on the nearest
existing parent, which is the filesystem it will be created on.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from core.hardware.types import DiskInfo


def _nearest_existing(path: Path) -> Path | None:
    for candidate in (path, *path.parents):
        if os.path.exists(candidate):  # unlike Path.exists, never raises on EACCES
            return candidate
    return None


def _mount_point(path: Path) -> str | None:
    try:
        real = Path(os.path.realpath(path))
    except OSError:
        return None
    for candidate in (real, *real.parents):
        if os.path.ismount(candidate):
            return str(candidate)
    return None


def disk_info(label: str, path: Path) -> tuple[DiskInfo, str | None]:
    """The DiskInfo for one folder, plus a notice when its filesystem cannot be read."""
    path = path.expanduser()
    exists = os.path.isdir(path)
    anchor = _nearest_existing(path)
    if anchor is None:
        notice = f"The {label} folder {path} has no readable parent folder."
        return DiskInfo(label, str(path), False, None, None, None), notice
    try:
        usage = shutil.disk_usage(anchor)
    except OSError as exc:
        info = DiskInfo(label, str(path), exists, _mount_point(anchor), None, None)
        return info, f"Could not read free space for the {label} folder {path} ({exc.strerror or exc})."
    return DiskInfo(label, str(path), exists, _mount_point(anchor), usage.total, usage.free), None


def disks_info(paths: Sequence[tuple[str, Path]]) -> tuple[tuple[DiskInfo, ...], tuple[str, ...]]:
    """Every configured model folder, in order, with notices for the unreadable ones."""
    infos: list[DiskInfo] = []
    notices: list[str] = []
    for label, path in paths:
        info, notice = disk_info(label, path)
        infos.append(info)
        if notice:
            notices.append(notice)
    return tuple(infos), tuple(notices)
