"""llama.cpp's own `--fit` on devices of chosen sizes, one cell at a time, remembered between runs.

A cell is model x quant x device set x context. For each, `llama-fit-params
--rpc ...` runs against RPC devices that report the chosen sizes
(tests/support/rpc_devices.py) and prints the arguments fit chose; a second
run with those arguments and `--fit-print on` gives each device's projected
memory (model, context, compute; whole MiB, rounded down). Both runs are
llama.cpp's, so their results do not change while the planner does: they
are kept in a JSON file keyed by the pinned llama.cpp version, and only the
missing cells run (a full table takes ~20 minutes here, mostly RPC round trips).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from bench._hollow import hollow, hollow_quant
from tests.support.llamacpp import LlamaCppTools, cache_root
from tests.support.llamacpp_output import FitArgs, fit_placement, fit_print
from tests.support.rpc_devices import rpc_devices

GIB = 1024**3


@dataclass(frozen=True)
class Cell:
    model: str
    quant: str
    sizes: tuple[int, ...]  # GiB per device
    ctx: int | None  # None: no -c, fit chooses

    @property
    def key(self) -> str:
        return f"{self.model}|{self.quant}|{'+'.join(map(str, self.sizes))}|{self.ctx or 'auto'}"


@dataclass(frozen=True)
class FitOutcome:
    """What llama.cpp chose for a cell, or why it could not."""

    n_ctx: int
    n_gpu_layers: int  # -1: all (fit changed nothing)
    tensor_split: tuple[int, ...]
    overrides: tuple[tuple[str, str], ...]
    devices: tuple[tuple[int, int, int], ...]  # per device: model, context, compute MiB
    host: tuple[int, int, int]
    error: str = ""

    @classmethod
    def from_json(cls, d: dict[str, object]) -> FitOutcome:
        def tuples(x: object) -> tuple[tuple[int, ...], ...]:
            assert isinstance(x, list)
            return tuple(tuple(v) for v in x)

        split = d["tensor_split"]
        host = d["host"]
        assert isinstance(split, list) and isinstance(host, list)
        return cls(int(str(d["n_ctx"])), int(str(d["n_gpu_layers"])), tuple(split),
                   tuples(d["overrides"]), tuples(d["devices"]), tuple(host), str(d.get("error", "")))  # type: ignore[arg-type]  # fmt: skip


def default_cache() -> Path:
    return cache_root() / "planner-fit-cells.json"


def _load(path: Path) -> dict[str, FitOutcome]:
    if not path.exists():
        return {}
    return {k: FitOutcome.from_json(v) for k, v in json.loads(path.read_text()).items()}


def _save(path: Path, cells: dict[str, FitOutcome]) -> None:
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(cells.items())}, indent=1))
    tmp.rename(path)


class HollowFiles:
    """Hollow F16 and quantized files, made once into a directory that outlives the run."""

    def __init__(self, tools: LlamaCppTools, root: Path) -> None:
        self.tools = tools
        self.root = root
        self._lock = threading.Lock()

    def f16(self, model: str) -> Path:
        with self._lock:
            path = self.root / f"{model}-F16.gguf"
            return path if path.exists() else hollow(model, self.root)

    def quant(self, model: str, quant: str) -> Path:
        src = self.f16(model)
        with self._lock:
            path = self.root / f"{model}-{quant}.gguf"
            return path if path.exists() else hollow_quant(self.tools, model, quant, src, self.root)


def _run_cell(tools: LlamaCppTools, model: Path, rpc: str, n_dev: int, ctx: int | None) -> FitOutcome:
    base = ["--rpc", rpc]
    try:
        args: FitArgs = fit_placement(tools, model, [*base, *(["-c", str(ctx)] if ctx else [])])
    except RuntimeError as err:
        return FitOutcome(ctx or 0, 0, (), (), (), (0, 0, 0), error=str(err).splitlines()[-1][:200])
    printed = fit_print(tools, model, [*base, *args.argv()])
    devs = tuple((printed[f"RPC{i}"].model, printed[f"RPC{i}"].context, printed[f"RPC{i}"].compute)
                 for i in range(n_dev))  # fmt: skip
    h = printed["Host"]
    return FitOutcome(args.n_ctx, args.n_gpu_layers, args.tensor_split, args.overrides, devs,
                      (h.model, h.context, h.compute))  # fmt: skip


def run_cells(tools: LlamaCppTools, cells: Sequence[Cell], *, cache: Path, jobs: int = 2,
              log_dir: Path, progress: bool = True) -> dict[str, FitOutcome]:  # fmt: skip
    """Every cell's outcome: from the cache where it has one, else from llama.cpp (saved as it goes)."""
    done = _load(cache)
    todo = [c for c in cells if c.key not in done]
    files = HollowFiles(tools, cache.parent / "hollow-fit")
    files.root.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    by_set: dict[tuple[int, ...], list[Cell]] = {}
    for c in todo:
        by_set.setdefault(c.sizes, []).append(c)

    def one_set(sizes: tuple[int, ...], group: Iterable[Cell]) -> None:
        tag = "+".join(map(str, sizes))
        with rpc_devices(tools, [s * GIB for s in sizes], log_dir / tag) as devs:
            for c in group:
                outcome = _run_cell(tools, files.quant(c.model, c.quant), devs.rpc_arg, len(sizes), c.ctx)
                with lock:
                    done[c.key] = outcome
                    _save(cache, done)
                    if progress:
                        print(f"  {c.key}: -c {outcome.n_ctx} -ngl {outcome.n_gpu_layers} {outcome.error}",
                              flush=True)  # fmt: skip

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for f in [pool.submit(one_set, s, g) for s, g in by_set.items()]:
            f.result()
    return {c.key: done[c.key] for c in cells}
