"""The llama.cpp tools a job runs: where they are, and whether they start and know what is asked.

`find_tools` looks in the config, then PATH, then the checkout layout around
the binaries; the checks start each tool once (a sub-second probe) so a
missing library or a converter Python without torch fails the pre-flight,
not the job an hour later.
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
from core.paths import config_file
from core.pipeline.preflight import fail, ok, skip, warn
from core.pipeline.tool_output import diagnose, pip_command
from core.pipeline.types import PreflightCheck

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


def missing_tools(settings: Settings, *, converter: bool, quant: str | None) -> str | None:
    """The llama.cpp tools a job would need and that are not there, in a sentence; None when all are.

    Only stat calls (no tool is started), so the new-job form can say it as the form opens.
    """
    tools = find_tools(settings)
    missing = []
    if converter and (tools.convert_script is None or not tools.convert_script.is_file()):
        missing.append("convert_hf_to_gguf.py")
    if quant is not None and (tools.quantize is None or not tools.quantize.exists()):
        missing.append("llama-quantize")
    if not missing:
        return None
    return (f"llama.cpp's {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not found: build "
            f"llama.cpp and set llamacpp.bin_dir (and convert_script) in {config_file()}.")
