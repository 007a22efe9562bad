"""Real llama.cpp tools for the tests and benchmarks.

The tests never fake llama.cpp: they use the real `llama-quantize`,
`llama-server`, `llama-bench`, `llama-fit-params`, `ggml-rpc-server` and
`convert_hf_to_gguf.py`.
Tools already on PATH (or named by LLAMADECK_LLAMACPP_BIN) are used as they
are; otherwise the pinned llama.cpp tree vendored in the `llama-cpp-python`
sdist is fetched from PyPI and built once per machine into the user cache,
keyed by version, so later runs cost nothing.

Run `python -m tests.support.llamacpp` to build (or locate) the tools ahead of
a test run; it prints where they are. `--check-fetch` proves what the cache
hides: it fetches the pinned source into an empty temporary cache, with pip's
own download cache off, and looks for the converter in it (no build).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import platformdirs

# The pinned source: llama-cpp-python's sdist vendors the whole llama.cpp tree.
LLAMA_CPP_PYTHON_VERSION = "0.3.36"
# ggml-rpc-server (tools/rpc, built with -DGGML_RPC=ON, which also gives every other tool `--rpc`)
# serves this machine's CPU as a remote device: the placement benchmark runs llama.cpp's fit
# against devices of chosen sizes with it (tests/support/rpc_devices.py). A cache built before it
# was listed lacks it, so ensure_tools() builds again; the build dir reconfigures incrementally.
TOOLS = ("llama-quantize", "llama-server", "llama-bench", "llama-fit-params", "ggml-rpc-server")


@dataclasses.dataclass(frozen=True)
class LlamaCppTools:
    bin_dir: Path
    source_dir: Path | None  # holds convert_hf_to_gguf.py and gguf-py

    def tool(self, name: str) -> Path:
        return self.bin_dir / name

    @property
    def convert_script(self) -> Path:
        if self.source_dir is None:
            raise FileNotFoundError("no llama.cpp source tree: convert_hf_to_gguf.py is unavailable")
        return self.source_dir / "convert_hf_to_gguf.py"


def cache_root() -> Path:
    override = os.environ.get("LLAMADECK_TEST_CACHE")
    base = Path(override) if override else Path(platformdirs.user_cache_dir("llamadeck-tests"))
    return base / f"llama.cpp-{LLAMA_CPP_PYTHON_VERSION}"


def _from_env() -> LlamaCppTools | None:
    bin_dir = os.environ.get("LLAMADECK_LLAMACPP_BIN")
    src = os.environ.get("LLAMADECK_LLAMACPP_SRC")
    if bin_dir and all((Path(bin_dir) / t).exists() for t in TOOLS):
        return LlamaCppTools(Path(bin_dir), Path(src) if src else None)
    return None


def _run(cmd: list[str], cwd: Path | None = None, log: Path | None = None) -> None:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    if log is None:
        subprocess.run(cmd, cwd=cwd, check=True)
        return
    with log.open("ab") as fh:
        proc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n" + "\n".join(tail))


def _fetch_source(root: Path, *, pip_cache: bool = True) -> Path:
    src = root / "src"
    if (src / "convert_hf_to_gguf.py").exists():
        return src
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        # pip prepares an sdist's metadata before it keeps the file; with build
        # isolation (the default) it fetches the sdist's own build backend
        # (scikit-build-core) into a throwaway environment for that, so nothing
        # beyond pip itself has to be installed first. `--no-build-isolation`
        # would need scikit-build-core in this venv, which only a machine that
        # had it by accident has.
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
              "--disable-pip-version-check", *([] if pip_cache else ["--no-cache-dir"]),
              f"llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION}", "-d", tmp])
        sdists = list(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        if not sdists:
            raise RuntimeError("pip did not produce the llama-cpp-python sdist")
        prefix = f"llama_cpp_python-{LLAMA_CPP_PYTHON_VERSION}/vendor/llama.cpp/"
        staging = Path(tmp) / "tree"
        with tarfile.open(sdists[0]) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            for m in members:
                m.name = m.name[len(prefix):]
            tar.extractall(staging, members=[m for m in members if m.name], filter="data")
        staging.rename(src)
    return src


def _build(root: Path, src: Path) -> Path:
    build = root / "build"
    log = root / "build.log"
    jobs = str(max(1, os.cpu_count() or 1))
    _run(["cmake", "-S", str(src), "-B", str(build),
          "-DCMAKE_BUILD_TYPE=Release",
          "-DBUILD_SHARED_LIBS=OFF",
          "-DGGML_NATIVE=ON",
          "-DGGML_RPC=ON",
          "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
          "-DLLAMA_BUILD_TOOLS=ON", "-DLLAMA_BUILD_SERVER=ON",
          "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF",
          "-DLLAMA_OPENSSL=OFF", "-DLLAMA_CURL=OFF"], log=log)
    _run(["cmake", "--build", str(build), "--config", "Release", "-j", jobs,
          "--target", *TOOLS], log=log)
    out = root / "bin"
    out.mkdir(exist_ok=True)
    for tool in TOOLS:
        found = next((p for p in build.rglob(tool) if p.is_file() and os.access(p, os.X_OK)), None)
        if found is None:
            raise RuntimeError(f"build finished but {tool} was not produced; see {log}")
        shutil.copy2(found, out / tool)
    return out


# Set by tests/conftest.py for every test not marked e2e: such a test must run
# on a machine without the llama.cpp source or build, so reaching for them is a bug.
FORBID_ENV = "LLAMADECK_TEST_FORBID_LLAMACPP"


def _refuse_outside_e2e(what: str) -> None:
    if os.environ.get(FORBID_ENV):
        raise RuntimeError(f"a test not marked e2e asked for {what}; mark it `@pytest.mark.e2e` "
                           "or make it not need llama.cpp")


def ensure_source() -> Path:
    """The pinned llama.cpp source tree (converter, gguf-py), without building anything.

    The converter environment needs only this, so it can be prepared while
    the tools are still compiling.
    """
    _refuse_outside_e2e("the llama.cpp source")
    src_env = os.environ.get("LLAMADECK_LLAMACPP_SRC")
    if src_env and (Path(src_env) / "convert_hf_to_gguf.py").exists():
        return Path(src_env)
    root = cache_root()
    src = root / "src"
    if (src / "convert_hf_to_gguf.py").exists():
        return src
    root.mkdir(parents=True, exist_ok=True)
    import fcntl

    # A lock of its own: the build holds `.lock` for many minutes.
    with (root / ".src.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        return _fetch_source(root)


def ensure_tools() -> LlamaCppTools:
    """Locate or build the tools; idempotent and cheap once cached."""
    _refuse_outside_e2e("the llama.cpp tools")
    env = _from_env()
    if env is not None:
        return env
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    bin_dir = root / "bin"
    src = root / "src"
    if all((bin_dir / t).exists() for t in TOOLS) and (src / "convert_hf_to_gguf.py").exists():
        return LlamaCppTools(bin_dir, src)
    lock = root / ".lock"
    import fcntl

    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # two pytest workers must not build twice
        if not all((bin_dir / t).exists() for t in TOOLS):
            _build(root, ensure_source())
    return LlamaCppTools(bin_dir, root / "src")


def check_fetch_from_nothing() -> Path:
    """Fetch the pinned source as a fresh machine would; returns the converter it found.

    The regular cache (and pip's) would hide a fetch that only works on a
    machine that happens to have something installed; this one starts empty.
    """
    with tempfile.TemporaryDirectory(prefix="llamadeck-fetch-check-") as tmp:
        src = _fetch_source(Path(tmp), pip_cache=False)
        script = src / "convert_hf_to_gguf.py"
        if not script.is_file() or not (src / "gguf-py").is_dir():
            raise RuntimeError(f"the llama-cpp-python {LLAMA_CPP_PYTHON_VERSION} sdist has no "
                               "convert_hf_to_gguf.py / gguf-py in vendor/llama.cpp")
        return Path("vendor/llama.cpp") / script.relative_to(src)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.llamacpp")
    parser.add_argument("--check-fetch", action="store_true",
                        help="fetch the pinned source into an empty temporary cache and check it; no build")
    args = parser.parse_args(argv)
    if args.check_fetch:
        found = check_fetch_from_nothing()
        print(f"llama-cpp-python {LLAMA_CPP_PYTHON_VERSION} source fetched from an empty cache: "
              f"{found} is there")
        return 0
    tools = ensure_tools()
    print(f"bin: {tools.bin_dir}\nsrc: {tools.source_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
