"""Issue #3 targets: the model browser with 500 models (list, sort, filter) and the cost of `ps` polling.

    .venv/bin/python -m bench.models_browser [--models 500] [--rounds 5] [--poll 30]

The fake Ollama server runs as its own process (`python -m tests.fakes.fake_ollama
--models N`), so this process's CPU time is the app's alone. The app is the real
one, run headless with Textual's `run_test` at 100x30, with the GPU on the fake
NVML module and three models loaded in `/api/ps`.

- first open: pressing 2 until all rows are in the table, in a fresh app each
  round, once with the 4 demo models and once with all N; the difference is
  what the N models cost (most of a first open is Textual building the screen).
- list: the two halves separately, each over `--rounds`: `/api/tags` through
  the official client, and rebuilding the table.
- sort / filter: the rebuild each key causes (timed inside the app), and the
  key's whole round trip through Pilot, next to that of a key bound to nothing
  (Pilot's own floor).
- ps polling: CPU seconds of this process over `--poll` seconds on the model
  screen with the 2 s poll running, minus the same span with the poll stopped
  (the dashboard keeps sampling in the background in both). Every 15th poll
  the screen also lists the models again (to notice models pulled from a
  shell), so a 30 s span holds one such relist of all N models.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._report import heading, machine_line, table  # noqa: E402
from core.config import HostConfig, Settings  # noqa: E402
from core.hardware.probe import HardwareProbe  # noqa: E402
from core.ollama.client import OllamaClient  # noqa: E402
from tests.fakes.fake_nvml import FakeGpu, FakeNvml  # noqa: E402
from tui.app import LlamadeckApp, make_app  # noqa: E402
from tui.screens.models.screen import ModelsScreen  # noqa: E402
from tui.services import Services  # noqa: E402
from tui.widgets.models.table import COLUMN_KEYS, ModelTable  # noqa: E402

SIZE = (100, 30)
FILTER = "qwen3"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, extra: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.fake_ollama", "--port", str(port), "--models", str(extra)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/version", timeout=1).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the fake Ollama server did not start")


def load_three(port: int) -> None:
    """Three models in /api/ps, as after a few `ollama run`s."""
    for name in ("qwen3:8b", "llama3.2:latest", "deepseek-r1:7b"):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/generate",
                                         data=f'{{"model": "{name}", "keep_alive": -1}}'.encode(),
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


class Timed:
    """Wraps a method on one instance and keeps how long each call took."""

    def __init__(self, owner: Any, name: str) -> None:
        self.calls: list[float] = []
        inner: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.calls.append(time.perf_counter() - t0)

        setattr(owner, name, timed)

    def take(self) -> list[float]:
        taken, self.calls = self.calls, []
        return taken


def app_for(port: int) -> LlamadeckApp:
    tmp = Path(tempfile.mkdtemp(prefix="llamadeck-bench-models-"))
    settings = Settings(ollama_models_dir=tmp / "models", hf_cache_dir=tmp / "hf",
                        hosts=(HostConfig(name="fake", url=f"http://127.0.0.1:{port}"),), default_host="fake")
    probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu()]))
    return make_app(settings, Services(hardware=probe))


async def first_open(port: int, n_models: int) -> float:
    """Seconds from pressing 2 in a fresh app until all rows are in the table."""
    app = app_for(port)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(1.0)  # the dashboard settles first
        t0 = time.perf_counter()
        await pilot.press("2")
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        grid = screen.query_one("#models-table", ModelTable)
        while grid.row_count < n_models:
            await asyncio.sleep(0.001)
        return time.perf_counter() - t0


async def run(port: int, n_models: int, rounds: int, poll_s: float,
              opens: dict[int, list[float]]) -> list[str]:
    app = app_for(port)
    settings = app.settings
    out: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(1.0)
        await pilot.press("2")
        screen = app.screen
        assert isinstance(screen, ModelsScreen)
        grid = screen.query_one("#models-table", ModelTable)
        while grid.row_count < n_models:
            await pilot.pause(0.01)
        await pilot.pause(0.5)

        # The two halves of listing, repeated.
        fetch: list[float] = []
        async with OllamaClient(settings.hosts[0]) as client:
            for _ in range(rounds):
                t = time.perf_counter()
                models = await client.list_models()
                fetch.append(time.perf_counter() - t)
        shows = Timed(grid, "show_models")
        for _ in range(rounds):
            grid.show_models(models)
            await pilot.pause()
        build = shows.take()
        rebuilds = Timed(grid, "_rebuild")

        async def press(key: str) -> float:
            t = time.perf_counter()
            await pilot.press(key)
            return time.perf_counter() - t

        idle_keys = [await press("z") for _ in range(rounds)]  # bound to nothing

        sort_rebuild: list[float] = []
        sort_key: list[float] = []
        for _ in range(rounds):
            for _column in COLUMN_KEYS:
                sort_key.append(await press("s"))
                sort_rebuild.extend(rebuilds.take())
        reverse_key = [await press("S") for _ in range(rounds)]
        reverse_rebuild = rebuilds.take()

        await press("slash")
        filter_key: list[float] = []
        for _ in range(rounds):
            for char in FILTER:
                filter_key.append(await press(char))
            for _char in FILTER:
                filter_key.append(await press("backspace"))
        filter_rebuild = rebuilds.take()
        await press("escape")
        rebuilds.take()

        small, full = opens[4], opens[n_models]
        rows = [
            ("first open, 4 models: press 2 until the rows show", ms(statistics.median(small)),
             ms(max(small)), str(len(small))),
            (f"first open, {n_models} models: press 2 until the rows show", ms(statistics.median(full)),
             ms(max(full)), str(len(full))),
            ("list: GET /api/tags + parse (client)", ms(statistics.median(fetch)), ms(max(fetch)),
             str(len(fetch))),
            ("list: give the table the models (cells, sort, rows)", ms(statistics.median(build)),
             ms(max(build)), str(len(build))),
            ("sort (s, each column): rebuild", ms(statistics.median(sort_rebuild)), ms(max(sort_rebuild)),
             str(len(sort_rebuild))),
            ("sort (s): key round trip", ms(statistics.median(sort_key)), ms(max(sort_key)),
             str(len(sort_key))),
            ("reverse (S): rebuild", ms(statistics.median(reverse_rebuild)), ms(max(reverse_rebuild)),
             str(len(reverse_rebuild))),
            ("reverse (S): key round trip", ms(statistics.median(reverse_key)), ms(max(reverse_key)),
             str(len(reverse_key))),
            (f"filter (typing '{FILTER}', then deleting it): rebuild", ms(statistics.median(filter_rebuild)),
             ms(max(filter_rebuild)), str(len(filter_rebuild))),
            ("filter: key round trip", ms(statistics.median(filter_key)), ms(max(filter_key)),
             str(len(filter_key))),
            ("a key bound to nothing: round trip (Pilot's floor)", ms(statistics.median(idle_keys)),
             ms(max(idle_keys)), str(len(idle_keys))),
        ]
        out.append(heading(f"Model browser with {len(models)} models (headless, {SIZE[0]}x{SIZE[1]})"))
        out.append("")
        out.append(machine_line())
        out.append("")
        out.append(table(["step", "median ms", "max ms", "n"], rows))

        # ps polling: the same span with and without the 2 s poll; the difference is its cost.
        await pilot.pause(2.0)
        spans: dict[str, tuple[float, int]] = {}
        for label, polling in (("poll off", False), ("poll on", True), ("poll off ", False)):
            screen.set_polling(polling)
            polls_before = screen.polls
            cpu0, wall0 = time.process_time(), time.perf_counter()
            while time.perf_counter() - wall0 < poll_s:
                await asyncio.sleep(0.25)
            cpu = time.process_time() - cpu0
            spans[label] = (cpu, screen.polls - polls_before)
        off = (spans["poll off"][0] + spans["poll off "][0]) / 2
        on, polls = spans["poll on"]
        cost = on - off
        out.append("")
        out.append(f"`/api/ps` polling every 2 s for {poll_s:.0f} s on the model screen, 3 models loaded, "
                   f"{len(models)} models listed")
        out.append("")
        out.append(table(
            ["case", "CPU s", "% of one core", "polls", "CPU ms per poll"],
            [("poll on", f"{on:.3f}", f"{on / poll_s * 100:.2f}", str(polls), ""),
             ("poll off (mean of before and after)", f"{off:.3f}", f"{off / poll_s * 100:.2f}", "0", ""),
             ("cost of polling", f"{cost:.3f}", f"{cost / poll_s * 100:.2f}", str(polls),
              f"{cost / polls * 1000:.1f}" if polls else "")],
        ))
        screen.set_polling(True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=500, help="models the server holds (4 demo + synthetic)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--opens", type=int, default=3, help="fresh apps per first-open measurement")
    ap.add_argument("--poll", type=float, default=30.0, help="seconds per polling span")
    args = ap.parse_args()
    opens: dict[int, list[float]] = {}
    for count in (4, args.models):
        port = free_port()
        server = start_server(port, max(0, count - 4))
        try:
            opens[count] = [asyncio.run(first_open(port, count)) for _ in range(args.opens)]
            if count == args.models:
                load_three(port)
                lines = asyncio.run(run(port, args.models, args.rounds, args.poll, opens))
        finally:
            server.terminate()
            server.wait(timeout=10)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
