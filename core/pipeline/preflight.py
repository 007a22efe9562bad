"""Checks that run before anything heavy, so a job fails in seconds, not after an hour.

What users hit, in the order it used to bite them: a shard missing from a
download, a disk that fills up halfway (the f16 GGUF is huge and Ollama copies
the result once more into its blob store), a converter Python without torch,
`llama-quantize` that cannot find `libllama.so`, and an architecture the
converter does not know. Each check returns a PreflightCheck with a sentence
that says what to do; none of them raises for a finding.

All checks are synchronous (a few file reads and two sub-second subprocess
probes); the pipeline runs them in a worker thread.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.config import Settings
from core.errors import ModelFactsError
from core.facts.hf_checkpoint import safetensors_header, shard_files
from core.hardware.disks import disk_info
from core.pipeline.tool_output import diagnose, pip_command
from core.pipeline.types import DiskNeed, PreflightCheck
from core.units import format_bytes_tenths

PROBE_TIMEOUT = 20.0

# What convert_hf_to_gguf.py imports for the common (Llama/Qwen/Mistral-family) models.
# find_spec only locates each package, so the probe costs a Python start-up, not a torch import.
CONVERTER_MODULES = ("torch", "numpy", "transformers", "sentencepiece", "safetensors")
_PROBE_SCRIPT = (
    "import importlib.util, json, sys\n"
    "mods = sys.argv[1:]\n"
    "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in mods}))\n"
)
_REGISTER = re.compile(r"@(?:ModelBase|Model)\.register\((?P<args>[^)]*)\)", re.DOTALL)
_STRING = re.compile(r"""["']([^"']+)["']""")
_QUANT_TYPE = re.compile(r"^\s*\d+\s+or\s+(?P<name>[A-Z0-9_]+)\s*:", re.MULTILINE)


def ok(name: str, message: str) -> PreflightCheck:
    return PreflightCheck(name, "ok", message)


def warn(name: str, message: str) -> PreflightCheck:
    return PreflightCheck(name, "warn", message)


def fail(name: str, message: str) -> PreflightCheck:
    return PreflightCheck(name, "fail", message)


def skip(name: str, message: str) -> PreflightCheck:
    return PreflightCheck(name, "skip", message)


# --------------------------------------------------------------------------- tools


@dataclass(frozen=True)
class ToolPaths:
    """Where the llama.cpp pieces are; None when they could not be found."""

    quantize: Path | None
    convert_script: Path | None
    convert_python: Path | None
    # Where convert_python came from: "config", "llama.cpp venv" (next to the script) or "PATH".
    convert_python_from: str = "config"


def find_tools(settings: Settings) -> ToolPaths:
    """The config first, then PATH, then the usual llama.cpp checkout layout next to the binaries."""
    lc = settings.llamacpp
    quantize: Path | None = None
    if lc.bin_dir is not None:
        quantize = lc.bin_dir / "llama-quantize"
    else:
        found = shutil.which("llama-quantize")
        quantize = Path(found) if found else None
    script = lc.convert_script
    if script is None:
        found = shutil.which("convert_hf_to_gguf.py")
        if found:
            script = Path(found)
        elif quantize is not None:
            # build/bin/llama-quantize -> the checkout two levels up holds the converter.
            for parent in list(quantize.resolve().parents)[:4]:
                if (parent / "convert_hf_to_gguf.py").is_file():
                    script = parent / "convert_hf_to_gguf.py"
                    break
    python = lc.convert_python
    python_from = "config"
    if python is None and script is not None:
        for venv in (".venv", "venv"):
            candidate = script.parent / venv / "bin" / "python"
            if candidate.exists():
                python, python_from = candidate, "llama.cpp venv"
                break
    if python is None:
        found = shutil.which("python3")
        python, python_from = (Path(found) if found else None), "PATH"
    return ToolPaths(quantize, script, python, python_from)


def check_quantize(binary: Path | None, quant: str | None) -> PreflightCheck:
    """llama-quantize starts (its shared libraries load) and knows the quant type."""
    if quant is None:
        return skip("quantize", "No quantize stage: the converted file is the result.")
    if binary is None:
        return fail("quantize", "llama-quantize was not found on PATH. Build llama.cpp and set "
                                "llamacpp.bin_dir in the config to its build/bin folder.")
    if not binary.exists():
        return fail("quantize", f"llama-quantize is not at {binary}. Fix llamacpp.bin_dir in the config.")
    if not os.access(binary, os.X_OK):
        return fail("quantize", f"{binary} is not executable; run `chmod +x {binary}`.")
    try:
        proc = subprocess.run([str(binary), "--help"], capture_output=True, text=True, errors="replace",
                              timeout=PROBE_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except OSError as exc:
        return fail("quantize", f"{binary} cannot be started: {exc.strerror or exc}.")
    except subprocess.TimeoutExpired:
        return fail("quantize", f"{binary} --help did not finish in {PROBE_TIMEOUT:g} s.")
    output = proc.stdout + proc.stderr
    if "usage:" not in output:
        lines = output.strip().splitlines()[-3:]
        why = diagnose(lines, proc.returncode, tool="llama-quantize")
        detail = why or f"it exited with {proc.returncode}: {' / '.join(lines) or 'no output'}"
        return fail("quantize", f"{binary} does not run: {detail}")
    known = set(_QUANT_TYPE.findall(output))
    if known and quant not in known:
        return fail("quantize", f"This llama-quantize does not offer {quant}; it knows "
                                f"{', '.join(sorted(known))}. Update llama.cpp or pick another type.")
    return ok("quantize", f"llama-quantize runs ({binary}).")


def check_converter(python: Path | None, script: Path | None, *,
                    python_from: str = "config") -> PreflightCheck:
    """The converter script exists and its Python can import what it needs.

    A Python that only came from PATH (no `convert_python` configured) is often llamadeck's own
    venv; torch does not belong there, so the advice is a venv of the converter's own.
    """
    if script is None:
        return fail("converter", "convert_hf_to_gguf.py was not found. Set llamacpp.convert_script in the "
                                 "config to the script in your llama.cpp checkout.")
    if not script.is_file():
        return fail("converter", f"There is no converter at {script}. Fix llamacpp.convert_script.")
    if python is None:
        return fail("converter", "No Python for the converter was found. Make a venv with llama.cpp's "
                                 "requirements and set llamacpp.convert_python to its bin/python.")
    modules = list(CONVERTER_MODULES)
    # The converter puts its own gguf-py first on sys.path (unless NO_LOCAL_GGUF is set).
    if not (script.parent / "gguf-py").is_dir() or os.environ.get("NO_LOCAL_GGUF"):
        modules.append("gguf")
    try:
        found = _probe_modules(str(python), tuple(modules))
    except OSError as exc:
        return fail("converter", f"The converter's Python {python} cannot be started: {exc.strerror or exc}.")
    except (subprocess.TimeoutExpired, ValueError) as exc:
        return fail("converter", f"The converter's Python {python} did not answer a probe: {exc}.")
    missing = [m for m in modules if not found.get(m)]
    if missing and python_from == "PATH":
        return fail("converter", own_venv_advice(python, script, missing))
    if missing:
        commands = "; ".join(f"`{pip_command(str(python), m)}`" for m in missing)
        requirements = script.parent / "requirements" / "requirements-convert_hf_to_gguf.txt"
        also = f" (or `{python} -m pip install -r {requirements}`)" if requirements.exists() else ""
        names = ", ".join(missing)
        return fail("converter", f"The converter's Python ({python}) lacks {names}. Install "
                                 f"{'it' if len(missing) == 1 else 'them'} there: {commands}{also}.")
    return ok("converter", f"convert_hf_to_gguf.py with {python} ({', '.join(modules)} found).")


def own_venv_advice(python: Path, script: Path, missing: Sequence[str]) -> str:
    """Make the converter a venv of its own, and say where the config wants it."""
    from core.paths import config_file

    in_venv = sys.prefix != sys.base_prefix and _inside(python, Path(sys.prefix))
    here = " (llamadeck's own venv)" if in_venv else ""
    requirements = script.parent / "requirements" / "requirements-convert_hf_to_gguf.txt"
    venv = "~/.venvs/convert"
    return (f"No converter Python is configured, so {python} from PATH was tried{here}; it lacks "
            f"{', '.join(missing)}. Give the converter a venv of its own instead of installing torch there: "
            f"`python3 -m venv {venv} && {venv}/bin/pip install -r {requirements}`, then set "
            f"`convert_python = \"{venv}/bin/python\"` under [llamacpp] in {config_file()}.")


def _inside(path: Path, folder: Path) -> bool:
    try:
        return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(folder))
    except OSError:
        return False


@lru_cache(maxsize=8)
def _probe_modules(python: str, modules: tuple[str, ...]) -> dict[str, bool]:
    proc = subprocess.run([python, "-c", _PROBE_SCRIPT, *modules], capture_output=True, text=True,
                          timeout=PROBE_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise ValueError((proc.stderr.strip().splitlines() or ["no output"])[-1])
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    if not isinstance(data, dict):
        raise ValueError("unexpected probe output")
    return {str(k): bool(v) for k, v in data.items()}


def registered_architectures(script: Path) -> frozenset[str]:
    """The HF `architectures` names the converter registers (`@ModelBase.register("...")`).

    Newer llama.cpp keeps the model classes in a `conversion/` package next to
    the script, older ones in the script itself; both are read.
    """
    files = [script]
    package = script.parent / "conversion"
    if package.is_dir():
        files += sorted(package.glob("*.py"))
    return _registered(tuple((str(f), f.stat().st_mtime_ns) for f in files if f.is_file()))


@lru_cache(maxsize=4)
def _registered(files: tuple[tuple[str, int], ...]) -> frozenset[str]:
    names: set[str] = set()
    for path, _mtime in files:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        for m in _REGISTER.finditer(text):
            names.update(_STRING.findall(m["args"]))
    return frozenset(names)


def check_architecture(config: dict[str, object], script: Path | None) -> PreflightCheck:
    archs = config.get("architectures")
    if not isinstance(archs, list) or not archs or not all(isinstance(a, str) for a in archs):
        return warn("architecture", "config.json names no `architectures`; the converter may refuse it.")
    if script is None or not script.is_file():
        return skip("architecture", f"{archs[0]}: not checked, the converter was not found.")
    known = registered_architectures(script)
    if not known:
        return skip("architecture", f"{archs[0]}: not checked, the converter in {script.parent} "
                                    "registers no models llamadeck can read.")
    if archs[0] in known:
        return ok("architecture", f"{archs[0]} is supported by the converter.")
    return fail("architecture", f"{archs[0]} is not supported by this llama.cpp's converter ({script}). "
                                "Update llama.cpp, or look for a ready-made GGUF of this model.")


# --------------------------------------------------------------------------- checkpoint


def check_shards(folder: Path) -> PreflightCheck:
    """Every weight file the index names is there, and none is cut short."""
    try:
        files = shard_files(folder)
    except ModelFactsError as exc:
        return fail("shards", str(exc))
    short: list[str] = []
    for name in files:
        path = folder / name
        try:
            header = safetensors_header(path)
            with path.open("rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
        except (ModelFactsError, OSError) as exc:
            short.append(f"{name} ({exc})")
            continue
        end = max((int(v["data_offsets"][1]) for k, v in header.items()
                   if k != "__metadata__" and isinstance(v, dict) and "data_offsets" in v), default=0)
        want, have = 8 + n + end, path.stat().st_size
        if have != want:
            short.append(f"{name} ({format_bytes_tenths(have)} of {format_bytes_tenths(want)})")
    if short:
        return fail("shards", f"{len(short)} weight file{'s are' if len(short) > 1 else ' is'} incomplete: "
                              f"{', '.join(short)}. Download {'them' if len(short) > 1 else 'it'} again.")
    if len(files) == 1:
        return ok("shards", f"The weight file {files[0]} is present and complete.")
    return ok("shards", f"All {len(files)} weight files are present and complete.")


# --------------------------------------------------------------------------- output folder


def check_out_dir(folder: Path) -> PreflightCheck:
    """The output folder is a folder (or can be made as one) that this user may write to."""
    for candidate in (folder, *folder.parents):
        if not os.path.lexists(candidate):
            continue
        if not candidate.is_dir():
            what = "the output folder" if candidate == folder else f"a folder above it ({candidate})"
            return fail("output", f"{folder} cannot be the output folder: {what} is a file. Choose another "
                                  "--out folder.")
        if not os.access(candidate, os.W_OK | os.X_OK):
            return fail("output", f"{candidate} is not writable by you, so {folder} cannot be written to. "
                                  "Choose another --out folder.")
        made = "" if candidate == folder else " (it will be made)"
        return ok("output", f"Outputs go to {folder}{made}.")
    return fail("output", f"{folder} is not on any filesystem here. Choose another --out folder.")


# --------------------------------------------------------------------------- disk


# The order stages write in; a file removed after a stage is gone from the next one on.
STAGE_ORDER = ("download", "convert", "quantize", "import")


@dataclass(frozen=True)
class DiskWrite:
    """One file a job writes: what it is, the folder, its bytes, the stage that writes it, and the
    stage after which the job deletes it again (the converter's output, when not kept)."""

    what: str
    folder: Path
    size: int
    stage: str
    removed_after: str | None = None


def disk_margin(data: int) -> int:
    """Room on top of the data: block rounding and the tools' logs (1 MiB), and 1 % for the estimates."""
    return (1 << 20) + data // 100


def _existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.exists(candidate):
            return candidate
    return Path("/")


def _peak(items: Sequence[DiskWrite]) -> tuple[int, list[DiskWrite]]:
    """The most bytes present at once on one filesystem, and the files present then."""
    best: tuple[int, list[DiskWrite]] = (0, [])
    for at in range(len(STAGE_ORDER)):
        present = [w for w in items if STAGE_ORDER.index(w.stage) <= at
                   and (w.removed_after is None or STAGE_ORDER.index(w.removed_after) >= at)]
        total = sum(w.size for w in present)
        if total > best[0]:
            best = (total, present)
    return best


def disk_needs(writes: Sequence[DiskWrite]) -> tuple[DiskNeed, ...]:
    """Group the writes by the filesystem they land on and find each one's peak.

    A file the job deletes (the converter's output, after quantizing) no longer counts
    once it is gone, so the peak is the largest set of files present at one time, plus
    the margin; `parts` lists them so the check can show a sum that adds up.
    """
    groups: dict[int, list[DiskWrite]] = {}
    for w in writes:
        try:
            dev = os.stat(_existing(w.folder)).st_dev
        except OSError:
            dev = -len(groups) - 1
        groups.setdefault(dev, []).append(w)
    needs = []
    for items in groups.values():
        folder = items[0].folder
        info, _ = disk_info(items[0].what, folder)
        data, present = _peak(items)
        parts = (*((w.what, w.size) for w in present), ("margin", disk_margin(data)))
        total = sum(size for _, size in parts)
        removed = tuple(w.what for w in items if w.removed_after is not None and w not in present)
        note = f"{' and '.join(removed)} deleted before the peak" if removed else ""
        needs.append(DiskNeed(str(folder), info.mount, total, info.free, format_parts(parts, total),
                              parts, note))
    return tuple(needs)


def format_parts(parts: Sequence[tuple[str, int]], total: int) -> tuple[str, ...]:
    """Each part in the total's unit, rounded so that the shown parts add up to the shown total.

    Rounding each part on its own can make "6.0 + 2.0 + 0.6" sum to 8.7 under a total of
    8.6; the largest remainders get the spare tenths instead.
    """
    unit, scale = "B", 1
    for name, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if total >= size:
            unit, scale = name, size
            break
    if scale == 1:
        return tuple(f"{what} {size} B" for what, size in parts)
    tenths = [size * 10 / scale for _, size in parts]
    floors = [int(t) for t in tenths]
    spare = round(total * 10 / scale) - sum(floors)
    order = sorted(range(len(parts)), key=lambda i: tenths[i] - floors[i], reverse=True)
    for i in order[:max(0, spare)]:
        floors[i] += 1
    return tuple(f"{what} {n / 10:.1f} {unit}" for (what, _), n in zip(parts, floors, strict=True))


def check_disk(needs: Sequence[DiskNeed]) -> list[PreflightCheck]:
    checks = []
    for need in needs:
        what = " + ".join(need.what) + f" = {format_bytes_tenths(need.need)}"
        if need.note:
            what += f"; {need.note}"
        if need.free is None:
            checks.append(warn("disk", f"Free space on {need.path} is unknown; the job needs "
                                       f"{format_bytes_tenths(need.need)} there ({what})."))
        elif not need.enough:
            checks.append(fail("disk", f"Not enough disk: need {format_bytes_tenths(need.need)} on "
                                       f"{need.path}, have {format_bytes_tenths(need.free)} ({what}). Free "
                                       "space or choose another --out folder."))
        else:
            checks.append(ok("disk", f"Need {format_bytes_tenths(need.need)} on {need.path}, have "
                                     f"{format_bytes_tenths(need.free)} ({what})."))
    return checks
