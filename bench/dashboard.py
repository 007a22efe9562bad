"""Issue #2 targets: start-up vs a bare Textual app, idle CPU, peak RSS.

    .venv/bin/python -m bench.dashboard [--rounds 5] [--idle 60] [--baseline DIR]

`--baseline DIR` also times the same two llamadeck cases from another
checkout (say `git worktree add /tmp/base <commit>`), alternating with this
one, so a change is measured against the code before it in the same run.

Start-up is the time from process start until the dashboard's first frame
that shows the machine (see FACTS_MARKER) reaches a real pseudo-terminal,
measured alternately with a bare Textual hello-world in the same run (the
floor), so machine noise hits both. Idle CPU is the CPU
time the dashboard uses while sampling at 1 s for `--idle` seconds after
it settled. The GPU side runs on the fake NVML module (no NVIDIA GPU here);
`llamadeck` itself is also timed as installed (CPU-only on this machine).

Bytecode is compiled first, as `pip install` does: a checkout run with
PYTHONDONTWRITEBYTECODE (set on this machine) would otherwise recompile every
llamadeck module on every start while Textual's come from its installed
.pyc files, which is not what a user's start-up costs.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import sys
import tempfile
from pathlib import Path

from bench._terminal import start

ROOT = Path(__file__).resolve().parent.parent
# What counts as the dashboard's first frame is the first one that shows the
# machine: on CPU-only, the facts line's "(b: measure bandwidth)" (a frame
# that says "Probing the hardware…" under empty gauges does not count); with
# the fake GPUs, the card's name.
FACTS_MARKER = b"bandwidth"
PY = sys.executable


def _startup(argv: list[str], marker: bytes, env: dict[str, str], root: Path) -> tuple[float, int]:
    # From the checkout's own folder: `python -m` imports from the current
    # folder before PYTHONPATH.
    run = start(argv, env=dict(env, PYTHONPATH=str(root)), cwd=str(root))
    try:
        seconds = run.wait_for(marker)
        return seconds, run.rss_peak()
    finally:
        run.stop()


def _entry(root: Path) -> str:
    """The app's module in that checkout (the CLI moved from tui/cli.py to cli/main.py in #12)."""
    return "cli.main" if (root / "cli" / "main.py").exists() else "tui.cli"


def _idle(env: dict[str, str], root: Path, seconds: float) -> tuple[float, int]:
    """CPU seconds the 2-fake-GPU dashboard of that checkout uses over `seconds` once settled."""
    run = start([PY, "-m", "bench.fake_gpu_app"], env=dict(env, PYTHONPATH=str(root)), cwd=str(root))
    try:
        run.wait_for(b"RTX 4090")
        run.read_for(5.0)  # let it settle
        before = run.cpu_seconds()
        run.read_for(seconds)
        return run.cpu_seconds() - before, run.rss_peak()
    finally:
        run.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--idle", type=float, default=60.0)
    ap.add_argument("--baseline", type=Path, help="another checkout to time alongside this one")
    args = ap.parse_args()

    roots = [ROOT] if args.baseline is None else [ROOT, args.baseline.resolve()]
    for root in roots:
        for package in ("core", "cli", "tui", "bench", "tests"):
            if (root / package).is_dir():
                compileall.compile_dir(root / package, quiet=1)
    tmp = Path(tempfile.mkdtemp(prefix="llamadeck-bench-"))
    env = {"LLAMADECK_CONFIG": str(tmp / "none.toml"), "LLAMADECK_DATA_DIR": str(tmp / "data"),
           "LLAMADECK_CACHE_DIR": str(tmp / "cache"), "PYTHONPATH": str(ROOT)}
    hello = [PY, str(ROOT / "bench" / "hello_app.py")]
    cases = {
        "bare Textual hello (floor)": (hello, b"hello-floor-ready", ROOT),
        "llamadeck (installed, CPU-only here)": ([PY, "-m", _entry(ROOT)], FACTS_MARKER, ROOT),
        "llamadeck dashboard, 2 fake GPUs": ([PY, "-m", "bench.fake_gpu_app"], b"RTX 4090", ROOT),
    }
    if args.baseline is not None:
        base = args.baseline.resolve()
        cases["baseline: CPU-only"] = ([PY, "-m", _entry(base)], FACTS_MARKER, base)
        cases["baseline: 2 fake GPUs"] = ([PY, "-m", "bench.fake_gpu_app"], b"RTX 4090", base)
    times: dict[str, list[float]] = {k: [] for k in cases}
    rss: dict[str, int] = {k: 0 for k in cases}
    for _ in range(args.rounds):
        for name, (argv, marker, root) in cases.items():
            seconds, peak = _startup(argv, marker, env, root)
            times[name].append(seconds)
            rss[name] = max(rss[name], peak)

    floor = statistics.median(times["bare Textual hello (floor)"])
    print(f"Start-up to first painted frame, median of {args.rounds} alternating rounds (100x30 pty)")
    print(f"| {'case':40} | {'median s':>8} | {'min s':>6} | {'vs floor':>8} | {'peak RSS MiB':>12} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 8}|{'-' * 10}|{'-' * 14}|")
    for name in cases:
        med = statistics.median(times[name])
        print(f"| {name:40} | {med:8.3f} | {min(times[name]):6.3f} | {med / floor:7.2f}x | "
              f"{rss[name] / 2**20:12.1f} |")

    print()
    print(f"Idle dashboard at 1 s refresh, 2 fake GPUs, {args.idle:.0f} s after settling")
    print("| checkout | CPU seconds | % of one core | peak RSS MiB |")
    print("|---|---|---|---|")
    for label, root in zip(("this", "baseline"), roots, strict=False):
        used, peak = _idle(env, root, args.idle)
        print(f"| {label} | {used:.2f} | {used / args.idle * 100:.2f} % | {peak / 2**20:.1f} |")


if __name__ == "__main__":
    main()
