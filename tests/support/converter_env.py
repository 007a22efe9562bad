"""A separate Python environment for llama.cpp's `convert_hf_to_gguf.py`.

The converter imports torch, transformers (for `AutoConfig`), sentencepiece,
safetensors and the `gguf` package of its own tree. Users keep it in a venv of
its own because its pins clash with everything else, and so do the tests: the
project venv never gets torch. The venv is created once per machine under the
test cache, keyed by the pins, the interpreter and the llama.cpp version, and
locked so two pytest workers do not build it twice.

torch is pinned to a CPU build (`+cpu`): the plain PyPI wheel pulls several GB
of CUDA libraries, which a converter never needs. Set
LLAMADECK_CONVERTER_TORCH to another requirement if your machine has a
different wheel at hand, or LLAMADECK_CONVERTER_PYTHON to use an existing
converter interpreter as it is.

`python -m tests.support.converter_env` prepares it and prints the python path.
`--check-resolve` proves what the cached venv hides, cheaply: the pins still
resolve to wheels for this interpreter from nothing (`pip install --dry-run`
into no environment, metadata only), so a fresh machine can build the venv.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.llamacpp import LLAMA_CPP_PYTHON_VERSION, _refuse_outside_e2e, cache_root, ensure_source

DEFAULT_TORCH = "torch==2.13.0+cpu"

# Only what the converter imports for Llama/Qwen-family SentencePiece and BPE
# models. transformers is pinned to the version llama.cpp's own requirements
# file names; the converter imports `AutoConfig` at module level.
BASE_REQUIREMENTS = (
    "numpy>=2.2.6,<3",
    "sentencepiece>=0.1.98,<0.3",
    "safetensors>=0.4",
    "transformers==4.57.6",
    "protobuf>=4.21,<5",
)

# Everything the converter needs, checked after install so a half-built venv
# is never taken for a finished one.
_PROBE = "import torch, transformers, sentencepiece, safetensors, numpy, gguf; print(gguf.__file__)"


def torch_requirement() -> str:
    return os.environ.get("LLAMADECK_CONVERTER_TORCH", DEFAULT_TORCH)


def requirements() -> tuple[str, ...]:
    return (torch_requirement(), *BASE_REQUIREMENTS)


def env_key() -> str:
    """Changes whenever anything that shapes the venv changes."""
    h = hashlib.sha256()
    for part in (*requirements(), LLAMA_CPP_PYTHON_VERSION, sys.version.split()[0]):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


def venv_dir() -> Path:
    # cache_root() is .../llama.cpp-<ver>; the venv sits beside it.
    return cache_root().parent / f"convert-venv-{env_key()}"


def _python_in(venv: Path) -> Path:
    return venv / "bin" / "python"


def _ready_marker(venv: Path) -> Path:
    return venv / ".llamadeck-ready"


def _run(cmd: list[str], log: Path) -> None:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    with log.open("ab") as fh:
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        raise RuntimeError(
            f"converter environment setup failed ({proc.returncode}): {' '.join(cmd)}\n"
            + "\n".join(tail)
            + f"\nfull log: {log}"
        )


def _create(venv: Path, source_dir: Path) -> None:
    log = venv.with_name(venv.name + ".log")
    log.write_text("")
    # The base interpreter, not the project venv's, so nothing leaks in.
    base_python = getattr(sys, "_base_executable", sys.executable)
    _run([base_python, "-m", "venv", str(venv)], log)
    py = str(_python_in(venv))
    _run([py, "-m", "pip", "install", "--no-input", "--only-binary=:all:", *requirements()], log)
    # The gguf package of the same tree the converter comes from, so the
    # GGUF keys it writes match what the built tools read.
    _run([py, "-m", "pip", "install", "--no-input", str(source_dir / "gguf-py")], log)
    _run([py, "-c", _PROBE], log)
    # Written last: a venv without it is a leftover of a failed run.
    _ready_marker(venv).write_text(" ".join(requirements()) + "\n")


def ensure_converter_python() -> Path:
    """The python of a venv that can run convert_hf_to_gguf.py; built once, then cached."""
    _refuse_outside_e2e("the converter environment")
    override = os.environ.get("LLAMADECK_CONVERTER_PYTHON")
    if override:
        return Path(override)
    venv = venv_dir()
    if _ready_marker(venv).exists():
        return _python_in(venv)
    source_dir = ensure_source()
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock = venv.with_name(venv.name + ".lock")
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not _ready_marker(venv).exists():
            if venv.exists():  # a broken leftover without the marker
                shutil.rmtree(venv)
            _create(venv, source_dir)
    return _python_in(venv)


def check_resolve_from_nothing() -> list[str]:
    """What a fresh machine's converter venv would install, resolved without installing anything."""
    base_python = getattr(sys, "_base_executable", sys.executable)
    with tempfile.TemporaryDirectory(prefix="llamadeck-convert-check-") as tmp:
        report = Path(tmp) / "report.json"
        proc = subprocess.run(
            [base_python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-input",
             "--disable-pip-version-check", "--only-binary=:all:", "--quiet", "--report", str(report),
             *requirements()],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError("the converter's pins do not resolve from nothing:\n" + proc.stdout[-3000:])
        names = sorted(item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"])
    needed = ("torch", "transformers", "sentencepiece", "safetensors", "numpy")
    missing = [r for r in needed if r not in names]
    if missing:
        raise RuntimeError(f"the converter's resolution lacks {', '.join(missing)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.converter_env")
    parser.add_argument("--check-resolve", action="store_true",
                        help="resolve the converter's pins from nothing (pip --dry-run); install nothing")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.check_resolve:
        names = check_resolve_from_nothing()
        print(f"converter pins resolve from nothing to {len(names)} packages "
              f"({torch_requirement()}) in {time.monotonic() - started:.1f} s")
        return 0
    python = ensure_converter_python()
    print(python)
    print(f"ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
