"""What the real llama.cpp tools print, parsed: one place for the tests and the benchmarks.

The planner is checked against llama.cpp's own numbers, so the lines read
here are the contract: `llama-quantize --dry-run`'s per-tensor listing, the
buffer lines llama.cpp logs while it sets a model up (`llama-server -lv 4`,
`llama-fit-params -v`), `llama-fit-params --fit-print on`'s projection and
`llama-bench -o json`. Each parser raises ValueError with the end of the
text when the lines it needs are missing, because a silent zero would read
as a perfect match.

`fit_params` also runs its tool: `llama-fit-params -v` now and then exits
before its log is complete, and how to get the numbers anyway belongs with
the parser that notices, so the tests and the benchmarks share one way.
It can also hang at exit (see `_run_fit`), so each run has a short limit
and a hung run is run again.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.llamacpp import LlamaCppTools

MIB = 1024**2

# "[ 12/ 292] blk.1.attn_v.weight - [ 4096, 1024, 1, 1], type = f16, size = 8.00 MiB -> 3.28 MiB (q6_K)"
# Tensors kept as they are carry no "(type)": their type is the one after "type =".
DRY_RUN_LINE = re.compile(
    r"^\[\s*\d+/\s*(\d+)\]\s+(\S+)\s+- \[.*\], type =\s+(\S+), size =.*?(?:\((\w+)\))?$", re.M
)
_QUANT_SIZE = re.compile(r"quant size\s*=\s*([\d.]+) MiB")
_MODEL_SIZE = re.compile(r"model size\s*=\s*([\d.]+) MiB")
_FALLBACKS = re.compile(r"(\d+) of (\d+) tensor\(s\) required fallback quantization")


def _tail(text: str, n: int = 1500) -> str:
    return text[-n:]


@dataclass(frozen=True)
class DryRunReport:
    """`llama-quantize --dry-run`: the type of every tensor and the totals it prints (MiB, 2 decimals)."""

    types: dict[str, str]  # tensor name -> ggml type, upper case ("Q4_K", "F32")
    quant_mib: float  # tensor data after quantization
    model_mib: float  # tensor data of the input
    n_tensors: int  # what the listing says the model has
    n_fallback: int  # tensors whose rows did not fit the chosen type


def parse_dry_run(text: str) -> DryRunReport:
    types: dict[str, str] = {}
    total = 0
    for m in DRY_RUN_LINE.finditer(text):
        total = int(m.group(1))
        types[m.group(2)] = (m.group(4) or m.group(3)).upper()
    quant = _QUANT_SIZE.search(text)
    model = _MODEL_SIZE.search(text)
    if not types or quant is None or model is None:
        raise ValueError(f"not a llama-quantize --dry-run listing:\n{_tail(text)}")
    fb = _FALLBACKS.search(text)
    return DryRunReport(types, float(quant.group(1)), float(model.group(1)), total,
                        int(fb.group(1)) if fb else 0)  # fmt: skip


@dataclass(frozen=True)
class BufferReport:
    """The buffers llama.cpp logs while setting a model up, in MiB (2 decimals), summed over devices.

    `model` is None where nothing was allocated to log (llama-fit-params
    projects without allocating); `breakdown_model` is the model column of
    the memory-breakdown table it prints instead (whole MiB, host).
    """

    model: float | None
    kv: float
    compute: float
    output: float
    breakdown_model: int | None = None
    whole_mib: bool = False  # from the --fit-print projection: each figure rounded down to a MiB

    @property
    def total(self) -> float:
        model = self.model if self.model is not None else float(self.breakdown_model or 0)
        return model + self.kv + self.compute + self.output


_MODEL_BUF = re.compile(r"load_tensors:\s+(\S+) model buffer size\s*=\s*([\d.]+) MiB")
_KV_SIZE = re.compile(r"llama_kv_cache: size\s*=\s*([\d.]+) MiB")
_COMPUTE_BUF = re.compile(r"(\S+) compute buffer size\s*=\s*([\d.]+) MiB")
_OUTPUT_BUF = re.compile(r"(\S+)\s+output buffer size\s*=\s*([\d.]+) MiB")
_BREAKDOWN_HOST = re.compile(r"\|\s+- Host\s+\|\s+(\d+) =\s+(\d+) \+\s+(\d+) \+\s+(\d+)")


def parse_buffer_log(text: str) -> BufferReport:
    """Sizes from a `llama-server -lv 4` / `llama-fit-params -v` log.

    The KV cache line is summed (models with sliding-window layers have two
    caches, each with its own line); a compute buffer may be reserved more
    than once, so the last line per device counts. With repacking on, the
    CPU log lists repacked weights in an extra CPU_REPACK buffer on top of the
    mapped one; run with `--no-repack` for a model size that means anything.
    """
    models = [(dev, float(v)) for dev, v in _MODEL_BUF.findall(text)]
    kv = [float(v) for v in _KV_SIZE.findall(text)]
    compute: dict[str, float] = {dev: float(v) for dev, v in _COMPUTE_BUF.findall(text)}
    output = [float(v) for _, v in _OUTPUT_BUF.findall(text)]
    if not kv or not compute:
        raise ValueError(f"no KV cache or compute buffer line in the llama.cpp log:\n{_tail(text)}")
    hosts = _BREAKDOWN_HOST.findall(text)
    breakdown = int(hosts[-1][1]) if hosts else None
    allocated = sum(v for _, v in models)
    return BufferReport(
        model=allocated if allocated > 0 else None,
        kv=sum(kv),
        compute=sum(compute.values()),
        output=sum(output),
        breakdown_model=breakdown,
    )


@dataclass(frozen=True)
class FitPrint:
    """One line of `llama-fit-params --fit-print on`: whole MiB, rounded down."""

    device: str
    model: int
    context: int  # KV cache (and recurrent state)
    compute: int


def parse_fit_print(stdout: str) -> dict[str, FitPrint]:
    """Device name ("Host", "CUDA0", ...) -> its projected memory."""
    out = {}
    for m in re.finditer(r"^(\S+) (\d+) (\d+) (\d+)\s*$", stdout, flags=re.M):
        out[m.group(1)] = FitPrint(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)))
    if "Host" not in out:
        raise ValueError(f"no Host line in llama-fit-params --fit-print output:\n{_tail(stdout)}")
    return out


# A run takes ~30 ms here; a minute is slack for a loaded 2-core CI machine.
FIT_HANG_S = 60
FIT_TRIES = 3


def _run_fit(cmd: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run llama-fit-params, again when a run hangs at exit.

    llama.cpp's log (common/log.cpp, `common_log::pause`, as pinned by
    llama-cpp-python 0.3.36) pushes its end-of-log entry without checking
    whether the ring buffer is full. When it is, `tail` becomes `head`, the
    log thread sees an empty queue and sleeps for ever, and the exit's
    `common_log_flush` waits on it for ever. With `-v` (~2,200 lines) it hit
    about one run in 1,500 here (gdb: main thread in std::thread::join from
    common_log_flush, log thread in cv_new.wait). It is llama.cpp's, not ours:
    a hung run is killed and run again.
    """
    for _ in range(FIT_TRIES - 1):
        try:
            return subprocess.run(list(cmd), capture_output=True, text=True, timeout=FIT_HANG_S, check=False)
        except subprocess.TimeoutExpired:
            continue
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=FIT_HANG_S, check=False)


def fit_params(tools: LlamaCppTools, model: Path, args: Sequence[str]) -> BufferReport:
    """What llama.cpp would allocate, without allocating: `llama-fit-params -v --no-repack`.

    The verbose log has the KV and compute sizes to 0.01 MiB. That log can be
    cut short when the tool exits, so it is run again, and when its lines
    are still missing the `--fit-print on` projection (whole MiB, the same
    numbers rounded down) fills in; `BufferReport.whole_mib` says so.
    """
    base = [str(tools.tool("llama-fit-params")), "-m", str(model), "--no-repack", *args]
    report: BufferReport | None = None
    for _ in range(3):  # the log is cut short now and then; another run usually has it all
        proc = _run_fit([*base, "-v"])
        try:
            report = parse_buffer_log(proc.stdout + proc.stderr)
        except ValueError:
            continue
        if report.model is not None or report.breakdown_model is not None:
            return report
    proc = _run_fit([*base, "--fit-print", "on"])
    host = parse_fit_print(proc.stdout)["Host"]
    if report is not None:  # the fine KV/compute lines came through; only the model total was cut off
        return dataclasses.replace(report, breakdown_model=host.model)
    return BufferReport(
        model=None,
        kv=host.context,
        compute=host.compute,
        output=0.0,
        breakdown_model=host.model,
        whole_mib=True,
    )


@dataclass(frozen=True)
class FitArgs:
    """What `llama-fit-params` prints on stdout: the arguments `--fit` chose.

    From tools/fit-params/fit-params.cpp (llama.cpp as in llama-cpp-python 0.3.36):

    `-c N -ngl M [-ts a,b,...] [-ot "pattern=BUFT,..."]`; -ts holds the layers
    per device, and each -ot entry sends the tensors matching a pattern of
    common/fit.cpp (`get_overflow_pattern`) to a buffer type ("CPU", or the
    next device's, e.g. "RPC1[127.0.0.1:40000]").
    """

    n_ctx: int
    n_gpu_layers: int
    tensor_split: tuple[int, ...]
    overrides: tuple[tuple[str, str], ...]  # (tensor pattern, buffer type), in order

    def argv(self) -> list[str]:
        out = ["-c", str(self.n_ctx), "-ngl", str(self.n_gpu_layers)]
        if self.tensor_split:
            out += ["-ts", ",".join(str(n) for n in self.tensor_split)]
        if self.overrides:
            out += ["-ot", ",".join(f"{p}={b}" for p, b in self.overrides)]
        return out


_FIT_ARGS = re.compile(r'^-c (\d+) -ngl (-?\d+)(?: -ts ([\d,]+))?(?: -ot "([^"]*)")?\s*$', re.M)


def parse_fit_args(stdout: str) -> FitArgs:
    found = list(_FIT_ARGS.finditer(stdout))
    if not found:
        raise ValueError(f"no fitted arguments in llama-fit-params output:\n{_tail(stdout)}")
    m = found[-1]
    split = tuple(int(x) for x in m.group(3).split(",")) if m.group(3) else ()
    overrides = tuple(tuple(item.rsplit("=", 1)) for item in m.group(4).split(",")) if m.group(4) else ()
    return FitArgs(int(m.group(1)), int(m.group(2)), split, overrides)


def fit_placement(tools: LlamaCppTools, model: Path, args: Sequence[str]) -> FitArgs:
    """Run `llama-fit-params` (no -v: its log is what hangs) and read the arguments it chose.

    Raises RuntimeError with llama.cpp's words when fit gives up.
    """
    proc = _run_fit([str(tools.tool("llama-fit-params")), "-m", str(model), "--no-repack", *args])
    if proc.returncode != 0:
        raise RuntimeError(f"llama-fit-params failed ({proc.returncode}):\n{_tail(proc.stderr, 800)}")
    return parse_fit_args(proc.stdout)


def fit_print(tools: LlamaCppTools, model: Path, args: Sequence[str]) -> dict[str, FitPrint]:
    """`llama-fit-params --fit-print on`: the memory each device would hold with `args`, no fitting."""
    proc = _run_fit([str(tools.tool("llama-fit-params")), "-m", str(model), "--no-repack", *args,
                     "--fit-print", "on"])  # fmt: skip
    return parse_fit_print(proc.stdout)


@dataclass(frozen=True)
class BenchResult:
    """One `llama-bench` test: tokens per second over its repetitions."""

    n_prompt: int
    n_gen: int
    n_threads: int
    mean_tps: float
    stddev_tps: float
    samples: tuple[float, ...]


def parse_llama_bench_json(stdout: str) -> list[BenchResult]:
    try:
        doc = json.loads(stdout)
    except ValueError as exc:
        raise ValueError(f"llama-bench did not print JSON ({exc}):\n{_tail(stdout)}") from None
    rows: Sequence[dict[str, object]] = doc if isinstance(doc, list) else [doc]
    out = []
    for r in rows:
        samples = r.get("samples_ts") or ()
        assert isinstance(samples, list | tuple)
        out.append(BenchResult(
            int(str(r["n_prompt"])), int(str(r["n_gen"])), int(str(r["n_threads"])),
            float(str(r["avg_ts"])), float(str(r["stddev_ts"])), tuple(float(x) for x in samples),
        ))  # fmt: skip
    if not out:
        raise ValueError(f"llama-bench printed no results:\n{_tail(stdout)}")
    return out
