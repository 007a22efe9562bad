"""Reading llama.cpp's tools as they run: progress from their output, and why they failed.

The converter and llama-quantize only talk in text, so this module turns
their lines into numbers and their last lines into a sentence. The formats
were read off the pinned tools running on a real checkpoint:

- convert_hf_to_gguf.py first logs one line per tensor as it plans the file
  (`INFO:hf-to-gguf:blk.0.attn_q.weight, torch.bfloat16 --> F16, shape = {256, 256}`),
  then the gguf writer draws a tqdm bar, redrawn with carriage returns:
  `Writing:  45%|████▌     | 3.31M/7.35M [00:01<00:01, 2.17Mbyte/s]`. With its
  default lazy evaluation the real work (reading, casting, writing) happens
  under that bar, so it carries most of the stage's weight.
- llama-quantize prints `[  12/  39] blk.0.ffn_up.weight - [ 256, 768, 1, 1], type = f16, ...`
  as it starts each tensor. The fraction of *weights* done is a truer measure
  than the tensor count (a 70B model's embedding is worth hundreds of norms),
  so the shapes are summed.

A failure diagnosis is a best effort over the last lines and the exit status;
`None` means "nothing recognised", and the caller still shows the raw lines.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# How much of a conversion is the planning pass (per-tensor lines) vs the writing pass.
CONVERT_PLAN_WEIGHT = 0.1

_TQDM = re.compile(
    r"Writing:\s*(?P<pct>\d+)%\|[^|]*\|\s*(?P<done>[\d.]+)(?P<done_unit>[kKMGTP]?)"
    r"/(?P<total>[\d.]+)(?P<total_unit>[kKMGTP]?)"
)
_CONVERT_TENSOR = re.compile(r"^INFO:hf-to-gguf:(?P<name>[\w.\-]+),\s+\S+\s+-->\s+(?P<type>\w+),\s+shape\s*=")
_QUANT_TENSOR = re.compile(
    r"^\[\s*(?P<n>\d+)\s*/\s*(?P<total>\d+)\s*\]\s+(?P<name>\S+)\s+-\s+\[(?P<shape>[\d,\s]+)\]"
)
_UNIT = {"": 1, "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "P": 1000**5}


@dataclass(frozen=True)
class ToolProgress:
    """One reading from a tool's output; the stage adds speed and ETA."""

    fraction: float
    done_bytes: int | None = None
    total_bytes: int | None = None
    detail: str = ""


class ConvertProgress:
    """Progress of convert_hf_to_gguf.py from its log and its writer's bar.

    `n_tensors` (from the checkpoint's headers) scales the planning pass; without
    it the planning pass reports no fraction. `total_bytes` is the expected
    size of the GGUF, used for exact byte counts where tqdm prints only three
    significant digits.
    """

    def __init__(self, n_tensors: int | None = None, total_bytes: int | None = None) -> None:
        self.n_tensors = n_tensors
        self.total_bytes = total_bytes
        self.seen = 0

    def feed(self, line: str) -> ToolProgress | None:
        m = _TQDM.search(line)
        if m is not None:
            done = float(m["done"]) * _UNIT[m["done_unit"]]
            total = float(m["total"]) * _UNIT[m["total_unit"]]
            written = min(1.0, done / total) if total > 0 else int(m["pct"]) / 100
            exact_total = self.total_bytes or int(total)
            return ToolProgress(
                CONVERT_PLAN_WEIGHT + (1 - CONVERT_PLAN_WEIGHT) * written,
                done_bytes=round(written * exact_total),
                total_bytes=exact_total,
                detail="writing",
            )
        m = _CONVERT_TENSOR.match(line)
        if m is not None:
            self.seen += 1
            if self.n_tensors:
                part = min(1.0, self.seen / self.n_tensors)
                return ToolProgress(CONVERT_PLAN_WEIGHT * part, detail=f"tensor {self.seen}/{self.n_tensors}")
            return ToolProgress(0.0, detail=f"tensor {self.seen}")
        return None


class QuantizeProgress:
    """Progress of llama-quantize, weighted by the input's tensor sizes.

    `tensor_bytes` maps tensor name -> bytes in the input GGUF (from its
    header). A tensor counts as done when the next one starts (or the tool
    exits), since the line is printed as work on it begins.
    """

    def __init__(self, tensor_bytes: Mapping[str, int] | None = None) -> None:
        self.tensor_bytes = dict(tensor_bytes or {})
        self.total = sum(self.tensor_bytes.values())
        self.done = 0
        self._current: str | None = None

    def feed(self, line: str) -> ToolProgress | None:
        m = _QUANT_TENSOR.match(line)
        if m is None:
            return None
        if self._current is not None:
            self.done += self.tensor_bytes.get(self._current, 0)
        self._current = m["name"]
        n, total = int(m["n"]), int(m["total"])
        detail = f"tensor {n}/{total}"
        if self.total > 0:
            return ToolProgress(self.done / self.total, self.done, self.total, detail)
        return ToolProgress((n - 1) / total if total else 0.0, detail=detail)


# --------------------------------------------------------------------------- diagnosis

_MISSING_MODULE = re.compile(r"(?:ModuleNotFoundError|ImportError): No module named '(?P<mod>[\w.]+)'")
_SHARED_LIB = re.compile(r"error while loading shared libraries: (?P<lib>[^:\s]+)")
_UNSUPPORTED_ARCH = re.compile(r"Model (?P<arch>\S+) is not supported")
_NO_SPACE = re.compile(r"No space left on device|ENOSPC|\[Errno 28\]", re.IGNORECASE)
_TOO_LARGE = re.compile(r"File too large|EFBIG|\[Errno 27\]", re.IGNORECASE)
# numpy's tofile() reports a short write this way; the cause is a full disk or a file-size limit.
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")
_OOM = re.compile(r"MemoryError|std::bad_alloc|Cannot allocate memory|out of memory", re.IGNORECASE)
_IMATRIX = re.compile(r"requires an (?:importance matrix|imatrix)", re.IGNORECASE)

# Where the converter's packages come from: torch has a CPU-only wheel index
# that saves gigabytes of CUDA libraries a converter never uses.
_PIP_HINT = {
    "torch": "{py} -m pip install torch --index-url https://download.pytorch.org/whl/cpu",
}


def pip_command(python: str, module: str) -> str:
    """The install command for a converter dependency, in that converter's own Python."""
    top = module.split(".")[0]
    template = _PIP_HINT.get(top, "{py} -m pip install {pkg}")
    return template.format(py=python, pkg=top)


def diagnose(
    lines: Sequence[str],
    returncode: int | None,
    *,
    tool: str,
    python: str | None = None,
) -> str | None:
    """A sentence naming the cause and the fix, for failures seen in the wild; None if unknown.

    `returncode` follows asyncio/subprocess: negative for "killed by signal N".
    """
    text = "\n".join(lines)
    m = _SHARED_LIB.search(text)
    if m is not None:
        return (
            f"{tool} cannot start: the shared library {m['lib']} is not found. Point the loader at "
            "llama.cpp's build (export LD_LIBRARY_PATH=/path/to/llama.cpp/build/bin), or rebuild "
            "the tools statically with `cmake -B build -DBUILD_SHARED_LIBS=OFF`."
        )
    m = _MISSING_MODULE.search(text)
    if m is not None:
        py = python or "python"
        return (
            f"The converter's Python ({py}) lacks the module '{m['mod']}'. Install it there: "
            f"`{pip_command(py, m['mod'])}` (or all of llama.cpp's converter requirements with "
            "`pip install -r requirements/requirements-convert_hf_to_gguf.txt`)."
        )
    if _NO_SPACE.search(text):
        return "The disk filled up (No space left on device). Free space or choose another --out folder."
    if _TOO_LARGE.search(text) or returncode == -signal.SIGXFSZ:
        return (
            "The output grew past the largest file allowed here (File too large): a `ulimit -f` "
            "limit or a filesystem such as FAT32 with a 4 GB cap. Raise the limit or choose "
            "another --out folder."
        )
    if _SHORT_WRITE.search(text):
        return (
            "The output could not be written completely (a short write): the disk is full, or the file "
            "reached a size limit (`ulimit -f`, FAT32's 4 GB). Free space or choose another --out folder."
        )
    m = _UNSUPPORTED_ARCH.search(text)
    if m is not None:
        return (
            f"This llama.cpp's converter does not support the architecture {m['arch']}. Update "
            "llama.cpp (newer versions add architectures often) or look for a ready-made GGUF."
        )
    if returncode is not None and returncode < 0:
        return _killed(tool, -returncode)
    if _OOM.search(text):
        return f"{tool} ran out of memory. Close other programs or add swap, then retry."
    if _IMATRIX.search(text):
        return "This quant type needs an importance matrix: pass --imatrix FILE (made by llama-imatrix)."
    return None


def _killed(tool: str, sig: int) -> str:
    name = _signal_name(sig)
    if sig == signal.SIGKILL:
        return (
            f"{tool} was killed ({name}), most likely by the kernel's out-of-memory killer; "
            "`journalctl -k | grep -i oom` or `dmesg` will say. Close other programs, add "
            "swap, or (for conversion) pass --outtype q8_0 to hold less in memory."
        )
    return f"{tool} was stopped by signal {name}."


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)
