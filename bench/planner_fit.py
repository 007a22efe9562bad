"""Issue #13 target: placement identical to llama.cpp's own `--fit` in >= 95 % of cells.

    .venv/bin/python -m bench.planner_fit [--models ID ...] [--quants Q ...] [--sets 12 16+12 ...]
                                          [--ctx 8192 auto ...] [--jobs 2] [--cache PATH]

Each cell is a hollow GGUF of a real architecture (quantized with the types
`llama-quantize --dry-run` picks) x a set of devices of chosen sizes x a
context: given (`-c N`, which fit never changes) or left to fit (no -c:
fit starts from the trained context and shrinks it first). llama.cpp's side
is `llama-fit-params --rpc ...` against ggml-rpc-server devices that report
those sizes (tests/support/rpc_devices.py); the planner's is `plan()` on a
machine of RPC GpuSpecs of the same sizes, with llama.cpp's plain-context
defaults (`runtime="llama.cpp"`, what llama-fit-params sets up).

Placement is identical when the context, the layers per device, the blocks
whose routed experts stay in RAM and MoE's fractional layer (fit's
"overflowing" layer: which part stays, where the rest goes) all agree.
Memory per device is model + context + compute as `--fit-print on` projects
it (whole MiB, rounded down), against the planner's device totals; the
target is max(2 %, 128 MiB). llama.cpp's results are cached (bench/_fit_cells.py).
"""

from __future__ import annotations

import argparse
import itertools
import re
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench._fit_cells import Cell, FitOutcome, HollowFiles, default_cache, run_cells
from bench._report import heading, machine_line, table
from core.facts.gguf import facts_from_gguf
from core.facts.types import ModelFacts
from core.planner.plan import plan
from core.planner.types import GpuSpec, MachineSpec, QuantRow
from tests.support.llamacpp import ensure_tools

MIB = 1024**2
GIB = 1024**3
MODELS = {
    "llama-3.1-8b": "dense GQA",
    "qwen2.5-14b": "GQA, bias",
    "gemma-3-12b": "sliding window 5:1",
    "qwen3-30b-a3b": "MoE 128x8",
    "llama-3.1-70b": "dense 70B",
}
QUANTS = ("Q4_K_M", "Q6_K", "Q8_0")
SETS = ((8,), (12,), (16,), (24,), (16, 12), (24, 24))
CONTEXTS: tuple[int | None, ...] = (8192, 32768, None)
TARGET_PCT = 2.0
TARGET_MIB = 128
_MOE_PATTERN = re.compile(r"^blk\\\.(\d+)\\\.ffn_\(up\|down\|gate_up\|gate\)_\(ch\|\)exps$")
_FRACTION = {
    "ffn_(gate|up|gate_up|down).*": "attn",
    "ffn_(gate|gate_up|down).*": "up",
    "ffn_down.*": "gate",
}


def rpc_machine(sizes: tuple[int, ...]) -> MachineSpec:
    gpus = tuple(GpuSpec(f"RPC{i}", s * GIB, 100e9, 10.0, kind="rpc") for i, s in enumerate(sizes))
    return MachineSpec(gpus, ram=1024 * GIB, ram_bandwidth=60e9, cpu_tflops=1.0, name="rpc")


@dataclass(frozen=True)
class Placement:
    """The part of a placement both sides can state: compared field by field."""

    ctx: int
    layers: tuple[int, ...]  # per device, the output layer counting as one
    expert_cpu: tuple[int, ...]  # blocks whose routed experts all stay in RAM
    fraction: tuple[tuple[int, str, str], ...]  # (block, part kept, where the rest goes)


def real_placement(out: FitOutcome, n_units: int, n_dev: int) -> Placement:
    ngl = n_units if out.n_gpu_layers < 0 else out.n_gpu_layers
    layers = out.tensor_split if out.tensor_split else (ngl,)
    if out.n_gpu_layers < 0 and n_dev > 1:  # fit changed nothing: llama.cpp's default split decides
        layers = ()
    expert_cpu: list[int] = []
    fraction: list[tuple[int, str, str]] = []
    for pattern, buft in out.overrides:
        m = _MOE_PATTERN.match(pattern)
        if m:
            if int(m.group(1)) < n_units - 1:  # fit also writes one for the output layer's index
                expert_cpu.append(int(m.group(1)))
            continue
        block, _, rest = pattern.partition("\\.")[2].partition("\\.")
        fraction.append((int(block), _FRACTION.get(rest, rest), "CPU" if buft == "CPU" else "next GPU"))
    return Placement(out.n_ctx, tuple(layers), tuple(expert_cpu), tuple(fraction))


def our_placement(row: QuantRow, n_dev: int, fit_changed: bool) -> Placement:
    layers: tuple[int, ...] = row.tensor_split if n_dev > 1 else (row.n_gpu_layers,)
    if n_dev > 1 and not fit_changed:
        layers = ()
    fraction = tuple((b, part, "CPU" if to < 0 else "next GPU") for b, part, to in row.fractional_layers)
    return Placement(row.fit_ctx or row.settings.n_ctx if row.settings else 0, layers,
                     row.expert_cpu_layers, fraction)  # fmt: skip


@dataclass(frozen=True)
class Compared:
    cell: Cell
    real: Placement
    ours: Placement
    real_mib: tuple[int, ...]
    ours_mib: tuple[float, ...]
    error: str

    @property
    def same(self) -> bool:
        return not self.error and self.real == self.ours

    def mem_errors(self) -> list[tuple[float, float]]:
        """(MiB, %) per device."""
        pairs = zip(self.real_mib, self.ours_mib, strict=True)
        return [(o - r, (o - r) / r * 100 if r else 0.0) for r, o in pairs]

    @property
    def mem_ok(self) -> bool:
        return all(abs(m) <= TARGET_MIB or abs(p) <= TARGET_PCT for m, p in self.mem_errors())


def compare(cell: Cell, facts: ModelFacts, out: FitOutcome) -> Compared:
    machine = rpc_machine(cell.sizes)
    row = plan(facts, machine, ctx=cell.ctx, runtime="llama.cpp", quants=(cell.quant,)).rows[0]
    n_dev = len(cell.sizes)
    real = real_placement(out, row.n_layers + 1, n_dev)
    fit_changed = out.n_gpu_layers >= 0
    ours = our_placement(row, n_dev, fit_changed)
    gpus = [d for d in row.memory.devices if d.is_gpu]
    ours_mib = tuple((d.weights + d.kv_cache + d.compute) / MIB for d in gpus)
    return Compared(cell, real, ours, tuple(sum(d) for d in out.devices), ours_mib, out.error)


def _fmt_place(p: Placement) -> str:
    s = "/".join(map(str, p.layers)) if p.layers else "all"
    if p.expert_cpu:
        s += f" exp{len(p.expert_cpu)}"
    for b, part, to in p.fraction:
        s += f" {b}:{part}>{to}"
    return s


def report(rows: list[Compared]) -> str:
    body = []
    for c in rows:
        mem = " ".join(f"{o:,.0f}/{r:,}" for o, r in zip(c.ours_mib, c.real_mib, strict=True))
        body.append([
            f"{c.cell.model} {c.cell.quant}", "+".join(map(str, c.cell.sizes)), c.cell.ctx or "auto",
            c.real.ctx, c.ours.ctx, _fmt_place(c.real), _fmt_place(c.ours), mem,
            "yes" if c.same else ("fit failed" if c.error else "no"), "ok" if c.mem_ok else "over",
        ])  # fmt: skip
    header = ["model quant", "GiB", "-c", "fit ctx", "our ctx", "llama.cpp layers", "planner layers",
              "MiB per device (ours/llama.cpp)", "same", "memory"]  # fmt: skip
    return table(header, body, align="lllrrllrll")


def summary(rows: list[Compared]) -> str:
    n = len(rows)
    same = sum(c.same for c in rows)
    errs = [e for c in rows if not c.error for e in c.mem_errors()]
    abs_mib = [abs(m) for m, _ in errs]
    within = sum(c.mem_ok for c in rows if not c.error)
    lines = [
        f"placement identical: {same}/{n} cells ({same / n * 100:.1f} %, target >= 95 %)",
        f"memory per device within max({TARGET_PCT:g} %, {TARGET_MIB} MiB): {within}/{n} cells",
    ]
    if abs_mib:
        lines.append(f"memory error per device: median {statistics.median(abs_mib):.0f} MiB, "
                     f"max {max(abs_mib):.0f} MiB, max {max(abs(p) for _, p in errs):.1f} %")  # fmt: skip
    by_kind: dict[str, list[bool]] = {}
    for c in rows:
        by_kind.setdefault("auto ctx" if c.cell.ctx is None else "given ctx", []).append(c.same)
        by_kind.setdefault(MODELS.get(c.cell.model, c.cell.model), []).append(c.same)
        by_kind.setdefault(f"{len(c.cell.sizes)} device(s)", []).append(c.same)
    lines += [f"  {k}: {sum(v)}/{len(v)}" for k, v in by_kind.items()]
    return "\n".join(lines)


def _parse_set(s: str) -> tuple[int, ...]:
    return tuple(int(x) for x in s.split("+"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.planner_fit")
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    ap.add_argument("--quants", nargs="*", default=list(QUANTS))
    ap.add_argument("--sets", nargs="*", default=["+".join(map(str, s)) for s in SETS])
    ap.add_argument("--ctx", nargs="*", default=[str(c or "auto") for c in CONTEXTS])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", type=Path, default=None, help="where llama.cpp's results are kept")
    ap.add_argument("--mismatches", action="store_true", help="print only the cells that differ")
    args = ap.parse_args(argv)
    ctxs = [None if c == "auto" else int(c) for c in args.ctx]
    cells = [Cell(m, q, _parse_set(s), c)
             for s, m, q, c in itertools.product(args.sets, args.models, args.quants, ctxs)]  # fmt: skip
    tools = ensure_tools()
    cache = args.cache or default_cache()
    with tempfile.TemporaryDirectory(prefix="llamadeck-fit-") as tmp:
        outcomes = run_cells(tools, cells, cache=cache, jobs=args.jobs, log_dir=Path(tmp), progress=False)
    files = HollowFiles(tools, cache.parent / "hollow-fit")
    facts = {m: facts_from_gguf(files.f16(m)) for m in args.models}
    rows = [compare(c, facts[c.model], outcomes[c.key]) for c in cells]
    print(heading("Placement against llama.cpp's fit (RPC devices)"))
    print(f"\n{machine_line()}; devices are ggml-rpc-server behind a memory-reporting proxy\n")
    shown = [r for r in rows if not r.same or not r.mem_ok] if args.mismatches else rows
    print(report(shown))
    print("\n" + summary(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
