"""Regenerate the SVG screenshots in `screenshots/`. Run it on purpose, then review the diff.

    .venv/bin/python scripts/screenshots.py              # every screen
    .venv/bin/python scripts/screenshots.py dashboard    # just one

Each screen is shot twice: NAME.svg at 100x30 and NAME-80x24.svg at the
size a new terminal (and tmux) opens with. `dashboard-cpu-only` is the
dashboard without a GPU driver, with a fixed set of process records and the
fake Ollama running qwen3:8b on the CPU.

The GPU in these pictures is not real hardware: it is the fake NVML module
from `tests/fakes/fake_nvml.py` posing as an RTX 4090 24 GiB, played through
a short scenario (idle, `ollama run` loads a 14 GiB model, it generates).
Everything else is real and read the way the app always reads it: the real
HardwareProbe, psutil for CPU, RAM, swap and disks of the machine running
this script, and a real process named `ollama runner` (a sleeping Python
started by the script) that the fake GPU reports as holding 14 GiB, so the
process table is real psutil output.

To fill the few minutes of history without waiting for them, the probe's
clock runs 20x fast (each reading is stamped 5 s after the last) while the
app samples every 0.25 s; the app is then set back to its 1 s default
before the picture is taken. The hostname is fixed to `gpu-box` and the
model folders live in a temporary directory, so nothing about the user who
runs this ends up in the SVG. The PID of the runner and this machine's
CPU/RAM readings do change from run to run.

The model browser is shot against the fake Ollama server from
`tests/fakes/fake_ollama.py` holding a realistic store (sizes, parameter
counts and architecture numbers as the real library models report them),
with two models loaded the way `ollama ps` would show them on a 24 GiB card:
qwen3:8b entirely on the GPU, gemma3:27b split between CPU and GPU. It
listens on 127.0.0.1:11434 when that port is free, so the header shows
Ollama's usual address. Model ages are relative to the moment of the shot.

The jobs screen is a real run, not recorded or made-up output: the tiny
Llama checkpoint from `tests/fakes/tiny_models.py` (copied into the
temporary folder) goes through the real `convert_hf_to_gguf.py` and the
real `llama-quantize` (both from `tests/support/`, built or installed once
per machine and cached, which can take minutes the first time), and a second
job waits behind it. The picture is taken the moment llama-quantize reports
half of its tensors done, so the log tail is llama-quantize's own lines;
the percent, speed, ETA and clocks differ a little from run to run. Only
Ollama is a fake (the same server as above), and it is not reached yet.

The Discover screen searches the local Hub stand-in from `tests/fakes/fake_hub.py`
serving hollow GGUFs of real models (scripts/screenshots_discover.py says how).

The chat screen streams a reply from qwen3:8b on the same fake server,
reasoning block open; its chat history is a temporary file. The reply, the
reasoning and the server's counters (load, prompt and eval durations) are
scripted; the time to first token is measured as always.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sys
import tempfile
import time
import types
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import HostConfig, Settings  # noqa: E402
from core.hardware import probe as hardware  # noqa: E402
from core.hardware.probe import HardwareProbe  # noqa: E402
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, FakeProcess, GiB  # noqa: E402
from tests.fakes.fake_ollama import FakeOllama  # noqa: E402
from tests.fakes.fake_ollama_models import FakeModel, demo_models  # noqa: E402
from tests.tui.conftest import start_fake_runner, stop  # noqa: E402
from tui.app import make_app  # noqa: E402
from tui.screens.dashboard.screen import HISTORY_S, DashboardScreen  # noqa: E402
from tui.screens.models.screen import ModelsScreen  # noqa: E402
from tui.services import Services  # noqa: E402
from tui.widgets.models.details import ModelDetailsPane  # noqa: E402

OUT = ROOT / "screenshots"
WIDE = (100, 30)
SMALL = (80, 24)
SIZE = WIDE  # the size being shot (main sets it per picture)
HOSTNAME = "gpu-box"
STEP_S = 5.0  # virtual seconds between two readings


class Scenario:
    """What the fake RTX 4090 is doing at a given virtual second, from idle to generating."""

    def __init__(self, gpu: FakeGpu, runner: FakeProcess) -> None:
        self.gpu = gpu
        self.runner = runner
        self.random = random.Random(4090)

    def at(self, t: float) -> None:
        gpu, rnd = self.gpu, self.random
        idle_until, loaded_at = 60.0, 75.0
        if t < idle_until:  # desktop idle: driver context only
            gpu.memory_used, self.runner.used_memory = int(0.6 * GiB), 0
            gpu.util_gpu, gpu.power_mw, gpu.temperature = rnd.randint(0, 2), 21_000, 38
            gpu.sm_clock, gpu.mem_clock = 210, 405
        elif t < loaded_at:  # `ollama run`: weights stream into VRAM
            share = (t - idle_until) / (loaded_at - idle_until)
            self.runner.used_memory = int(14 * GiB * share)
            gpu.memory_used = int(0.6 * GiB) + self.runner.used_memory
            gpu.util_gpu, gpu.power_mw, gpu.temperature = rnd.randint(8, 25), 95_000, 44
            gpu.sm_clock, gpu.mem_clock = 2520, 10501
        else:  # generating: memory-bound decode keeps the card busy and warm
            warm = 1 - math.exp(-(t - loaded_at) / 40)
            self.runner.used_memory = 14 * GiB
            gpu.memory_used = int(15.1 * GiB)
            gpu.util_gpu = rnd.randint(88, 97)
            gpu.util_memory = rnd.randint(70, 82)
            gpu.power_mw = rnd.randint(318_000, 352_000)
            gpu.temperature = int(45 + 22 * warm)
            gpu.sm_clock, gpu.mem_clock = 2745, 10501
            gpu.fan = int(30 + 25 * warm)


def fast_clock(scenario: Scenario, start: float) -> types.SimpleNamespace:
    """A stand-in for the `time` module inside core.hardware.probe: each reading is STEP_S later."""
    state = {"t": 0.0}

    def now() -> float:
        state["t"] += STEP_S
        scenario.at(state["t"])
        return start + state["t"]

    return types.SimpleNamespace(time=now, monotonic=time.monotonic, perf_counter=time.perf_counter)


async def shoot_dashboard(workdir: Path) -> str:
    gpu = FakeGpu()
    runner_process = start_fake_runner(workdir / "runner")
    try:
        holder = FakeProcess(pid=runner_process.pid, used_memory=0)
        gpu.processes.append(holder)
        scenario = Scenario(gpu, holder)
        scenario.at(0)
        models = workdir / "ollama-models"
        models.mkdir()
        settings = Settings(refresh_seconds=0.25, ollama_models_dir=models, hf_cache_dir=workdir / "hf-cache")
        probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([gpu]))
        app = make_app(settings, Services(hardware=probe))
        readings = int(HISTORY_S / STEP_S) + 2
        clock = fast_clock(scenario, start=1_700_000_000.0)
        fixed_host = mock.patch("socket.gethostname", return_value=HOSTNAME)
        with fixed_host, mock.patch.object(hardware, "time", clock):
            async with app.run_test(size=SIZE) as pilot:
                screen = app.screen
                assert isinstance(screen, DashboardScreen)
                deadline = time.monotonic() + 60
                while (screen.last_sample is None or screen.last_sample.timestamp < 1_700_000_000.0
                       + readings * STEP_S) and time.monotonic() < deadline:
                    await pilot.pause(0.1)
                # Back to the default 1 s; that takes one reading at once, and the
                # picture is taken well before the next.
                before = screen.last_sample
                screen.set_interval_seconds(1.0)
                while screen.last_sample is before and time.monotonic() < deadline:
                    await pilot.pause(0.05)
                await pilot.pause(0.2)
                return app.export_screenshot(title="llamadeck")
    finally:
        stop(runner_process)


# name, size, family/arch, params, quant, n_params, ctx, embd, layers, heads, kv heads, capabilities, age
STORE = [
    ("deepseek-r1:14b", 8_988_112_040, "qwen2", "14.8B", "Q4_K_M", 14_770_033_664, 131072, 5120, 48, 40, 8,
     ["completion", "thinking"], timedelta(hours=2)),
    ("llama3.1:8b", 4_920_753_328, "llama", "8.0B", "Q4_K_M", 8_030_261_248, 131072, 4096, 32, 32, 8,
     ["completion", "tools"], timedelta(days=12)),
    ("gemma3:27b", 17_396_936_230, "gemma3", "27.4B", "Q4_K_M", 27_432_406_640, 131072, 5376, 62, 32, 16,
     ["completion", "vision"], timedelta(days=6)),
    ("qwen2.5-coder:7b", 4_683_087_332, "qwen2", "7.6B", "Q4_K_M", 7_615_616_512, 32768, 3584, 28, 28, 4,
     ["completion", "tools", "insert"], timedelta(days=21)),
    ("mistral-small3.2:24b", 15_177_841_434, "mistral3", "24.0B", "Q4_K_M", 24_011_361_280, 131072, 5120, 40,
     32, 8, ["completion", "tools", "vision"], timedelta(days=30)),
]


def model_store() -> list[FakeModel]:
    """The demo store (qwen3:8b, llama3.2, deepseek-r1:7b, nomic-embed-text) plus common bigger models."""
    now = datetime.now(UTC)
    models = demo_models()
    for name, size, family, params, quant, n, ctx, embd, layers, heads, kv, caps, age in STORE:
        models.append(FakeModel(
            name=name, size=size, family=family, architecture=family, parameter_size=params,
            quantization_level=quant, parameter_count=n, context_length=ctx, embedding_length=embd,
            block_count=layers, head_count=heads, head_count_kv=kv, capabilities=caps, modified_at=now - age,
        ))
    return models


def fake_ollama_server(workdir: Path) -> FakeOllama:
    for port in (11434, 0):
        fake = FakeOllama(port=port, blob_dir=workdir / "blobs")
        try:
            return fake.start()
        except OSError:  # a real Ollama (or anything) holds 11434
            continue
    raise RuntimeError("unreachable: port 0 always binds")


async def shoot_dashboard_cpu(workdir: Path) -> str:
    """No NVIDIA driver: one GPU line, and the processes and Ollama's state in the space that leaves.

    The process list is a fixed set of records (an `ollama runner` serving
    qwen3:8b, a llama-server, a browser), not this machine's processes.
    """
    import pynvml

    from core.hardware.processes import ProcessRecord
    from tui.widgets.dashboard.ollama_panel import OllamaPanel
    from tui.widgets.dashboard.top_processes import TopProcesses

    (workdir / "blobs").mkdir()
    fake = fake_ollama_server(workdir)
    try:
        for model in model_store():
            fake.add_model(model)
        digest = "a3de86cd1c132c822487ededd47a324c50491393e6565cd14bafa40d0b8e686f"
        fake.set_running("qwen3:8b", size=6_358_000_000, size_vram=0, context_length=8192,
                         expires_in=290).digest = f"sha256:{digest}"
        blob = f"/usr/share/ollama/.ollama/models/blobs/sha256-{digest}"
        processes = [
            ProcessRecord(2317, "ollama", "ollama", ("/usr/local/bin/ollama", "runner", "--model", blob),
                          6_020_000_000, 388.0),
            ProcessRecord(1864, "ollama", "ollama", ("/usr/local/bin/ollama", "serve"), 120_000_000, 1.0),
            ProcessRecord(3391, "alice", "llama-server",
                          ("llama-server", "-m", "/data/gguf/Qwen2.5-7B-Instruct-Q4_K_M.gguf"),
                          4_810_000_000, 0.3),
            ProcessRecord(2980, "alice", "firefox", ("/usr/lib/firefox/firefox",), 1_930_000_000, 6.0),
            ProcessRecord(1402, "alice", "tmux: server", ("tmux",), 9_000_000, 0.1),
        ]
        models = workdir / "ollama-models"
        models.mkdir()
        settings = Settings(ollama_models_dir=models, hf_cache_dir=workdir / "hf-cache",
                            hosts=(HostConfig(name="local", url=fake.url),), default_host="local")
        probe = HardwareProbe.from_settings(
            settings, nvml=FakeNvml([], init_error=pynvml.NVML_ERROR_LIBRARY_NOT_FOUND),
            process_source=lambda: list(processes))
        app = make_app(settings, Services(hardware=probe))
        with mock.patch("socket.gethostname", return_value=HOSTNAME):
            async with app.run_test(size=SIZE) as pilot:
                screen = app.screen
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and not (
                        screen.query(OllamaPanel) and screen.query_one(OllamaPanel).last is not None
                        and "qwen3:8b" in screen.query_one(TopProcesses).text):
                    await pilot.pause(0.1)
                await pilot.pause(2.5)  # a few readings into the CPU and RAM histories
                return app.export_screenshot(title="llamadeck")
    finally:
        fake.close()


async def shoot_models(workdir: Path) -> str:
    (workdir / "blobs").mkdir()
    fake = fake_ollama_server(workdir)
    try:
        for model in model_store():
            fake.add_model(model)
        fake.set_running("qwen3:8b", size=6_358_000_000, size_vram=6_358_000_000, context_length=8192,
                         expires_in=290)
        fake.set_running("gemma3:27b", size=21_430_000_000, size_vram=16_501_100_000, context_length=8192,
                         expires_in=-1)
        models = workdir / "ollama-models"
        models.mkdir()
        settings = Settings(ollama_models_dir=models, hf_cache_dir=workdir / "hf-cache",
                            hosts=(HostConfig(name="local", url=fake.url),), default_host="local")
        probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu(memory_used=23 * GiB)]))
        app = make_app(settings, Services(hardware=probe))
        with mock.patch("socket.gethostname", return_value=HOSTNAME):
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("2")
                screen = app.screen
                assert isinstance(screen, ModelsScreen)
                deadline = time.monotonic() + 60
                while not (screen.table.select("qwen3:8b") and len(screen.running) == 2) \
                        and time.monotonic() < deadline:
                    await pilot.pause(0.1)
                details = screen.query_one(ModelDetailsPane)
                while details.info is None or details.info.name != "qwen3:8b":
                    if time.monotonic() > deadline:
                        raise RuntimeError("the details of qwen3:8b never arrived")
                    await pilot.pause(0.1)
                await pilot.pause(0.3)
                return app.export_screenshot(title="llamadeck")
    finally:
        fake.close()


async def shoot_jobs(workdir: Path) -> str:
    import shutil

    from core.config import LlamaCppConfig
    from core.pipeline.types import JobSpec
    from tests.fakes.tiny_models import TINY_LLAMA, ensure_hf_model
    from tests.support.converter_env import ensure_converter_python
    from tests.support.llamacpp import ensure_tools
    from tui.screens.jobs.screen import JobsScreen

    tools, python = ensure_tools(), ensure_converter_python()
    checkpoint = workdir / "models" / "tiny-llama"
    shutil.copytree(ensure_hf_model(TINY_LLAMA), checkpoint)
    (workdir / "blobs").mkdir()
    fake = fake_ollama_server(workdir)
    try:
        settings = Settings(
            ollama_models_dir=workdir / "ollama-models", hf_cache_dir=workdir / "hf-cache",
            gguf_dirs=(workdir / "gguf",), hosts=(HostConfig(name="local", url=fake.url),),
            default_host="local",
            llamacpp=LlamaCppConfig(bin_dir=tools.bin_dir, convert_script=tools.convert_script,
                                    convert_python=python),
        )
        probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu()]))
        app = make_app(settings, Services(hardware=probe))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            screen = app.screen
            assert isinstance(screen, JobsScreen)
            first = screen.add_job(JobSpec(str(checkpoint), quant="Q4_K_M"))
            screen.add_job(JobSpec(str(checkpoint), quant="Q8_0"))
            await pilot.press("up")  # the first job, the one running
            deadline = time.monotonic() + 600
            while True:
                progress = first.stage("quantize").progress
                if progress is not None and (progress.fraction or 0.0) >= 0.5:
                    break
                if first.finished is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the job did not reach quantize: {first.finished}")
                await pilot.pause(0.02)
            return app.export_screenshot(title="llamadeck")
    finally:
        fake.close()


async def shoot_planner(workdir: Path) -> str:
    """DeepSeek-R1 32B at 16k context with a q8_0 KV cache on an RTX 4090 with 64 GB RAM (typed as a
    hypothetical machine, so the picture does not depend on the RAM of the box that runs this)."""
    from tests.tui.planner_support import plan_of, type_into
    from tui.screens.planner.screen import PlannerScreen

    models = workdir / "ollama-models"
    models.mkdir()
    settings = Settings(ollama_models_dir=models, hf_cache_dir=workdir / "hf-cache")
    probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu()]))
    app = make_app(settings, Services(hardware=probe))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        screen = app.screen
        assert isinstance(screen, PlannerScreen)
        deadline = time.monotonic() + 60
        while screen.info is None and time.monotonic() < deadline:
            await pilot.pause(0.1)
        await type_into(pilot, "plan-machine", "4090")
        await type_into(pilot, "plan-ram", "64")
        await type_into(pilot, "plan-ctx", "16k")
        await pilot.press("escape", "k")
        await plan_of(pilot, "deepseek-r1:32b")
        while not (screen.settled and screen.plan is not None and screen.plan.inputs.kv_type == "q8_0"):
            if time.monotonic() > deadline:
                raise RuntimeError("the plan never arrived")
            await pilot.pause(0.1)
        await pilot.pause(0.3)
        return app.export_screenshot(title="llamadeck")


CHAT_THINKING = [
    "A 12 GB card and 32k of context.", " qwen3:8b has 36 layers, 8 KV heads of 128 dims:",
    " f16 KV is 144 KiB a token, 4.5 GiB at 32k.", " Q4_K_M weights are 4.7 GiB, so about 10 GiB in all.",
]
CHAT_ANSWER = (
    "Yes: **Q4_K_M** fits, with room to spare.\n\n"
    "- weights 4.7 GiB, KV cache 4.5 GiB at 32k\n"
    "- `OLLAMA_KV_CACHE_TYPE=q8_0` halves the cache\n\n"
    "```bash\nollama run qwen3:8b\n```\n\n"
    "量化后的模型在本地运行很快 🚀\n"
)


async def shoot_chat(workdir: Path) -> str:
    """A reply from qwen3:8b with its reasoning block open, streamed from the fake Ollama, with the numbers
    Ollama's own counters give for it on an RTX 4090 (the fake reports them; TTFT is measured)."""
    from core.chat.history import HistoryStore
    from core.chat.types import ChatOptions
    from tui.screens.chat.screen import ChatScreen
    from tui.widgets.chat.message import ReplyView

    (workdir / "blobs").mkdir()
    fake = fake_ollama_server(workdir)
    try:
        for model in model_store():
            fake.add_model(model)
        words = [w + " " for w in CHAT_ANSWER.split(" ")]
        fake.set_script("qwen3:8b", thinking=CHAT_THINKING, chunks=words, delay=0.004, stats={
            "load_duration": 2_104_000_000, "prompt_eval_count": 38, "prompt_eval_duration": 21_000_000,
            "eval_count": 196, "eval_duration": 1_531_000_000, "total_duration": 3_702_000_000})
        models = workdir / "ollama-models"
        models.mkdir()
        settings = Settings(ollama_models_dir=models, hf_cache_dir=workdir / "hf-cache",
                            hosts=(HostConfig(name="local", url=fake.url),), default_host="local")
        probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu()]))
        history = workdir / "history.sqlite3"
        app = make_app(settings, Services(hardware=probe, history=lambda: HistoryStore.open(history)))
        async with app.run_test(size=SIZE) as pilot:
            app.open_chat("qwen3:8b")
            deadline = time.monotonic() + 60
            while not (isinstance(app.screen, ChatScreen) and app.screen.store is not None
                       and app.screen.model == "qwen3:8b" and "qwen3:8b" in app.screen.state.facts):
                if time.monotonic() > deadline:
                    raise RuntimeError("the chat screen never got ready")
                await pilot.pause(0.1)
            screen = app.screen
            screen.options = ChatOptions(num_ctx=32768)  # what Ctrl+O would set
            screen.prompt.load_text("Does qwen3:8b fit a 12 GB card with 32k context? Which quant?")
            app.simulate_key("enter")
            while not (screen.log_view.query(ReplyView) and screen.log_view.query_one(ReplyView).status
                       == "complete" and not screen.streaming):
                if time.monotonic() > deadline:
                    raise RuntimeError("the reply never finished")
                await pilot.pause(0.1)
            reply = screen.log_view.query_one(ReplyView)
            reply.thinking_box.collapsed = False  # the picture shows the reasoning too
            await pilot.pause(0.5)
            screen.log_view.scroll_home(animate=False)
            await pilot.pause(0.5)
            return app.export_screenshot(title="llamadeck")
    finally:
        fake.close()


async def shoot_discover(workdir: Path) -> str:
    """GGUF repos on the local Hub stand-in, one repo's files planned here (screenshots_discover.py)."""
    from scripts.screenshots_discover import discover_shot

    return await discover_shot(workdir, SIZE)


SHOTS: dict[str, Callable[[Path], Coroutine[object, object, str]]] = {
    "dashboard": shoot_dashboard,
    "dashboard-cpu-only": shoot_dashboard_cpu,
    "models": shoot_models,
    "jobs": shoot_jobs,
    "planner": shoot_planner,
    "chat": shoot_chat,
    "discover": shoot_discover,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"screens to shoot: {', '.join(SHOTS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SHOTS]
    if unknown:
        parser.error(f"no screenshot named {', '.join(unknown)}; known: {', '.join(SHOTS)}")
    OUT.mkdir(exist_ok=True)
    global SIZE
    for name in args.names or list(SHOTS):
        for size, suffix in ((WIDE, ""), (SMALL, "-80x24")):  # the wide view, and the terminal users start in
            SIZE = size
            with tempfile.TemporaryDirectory(prefix=f"llamadeck-shot-{name}-") as tmp:
                svg = asyncio.run(SHOTS[name](Path(tmp)))
            target = OUT / f"{name}{suffix}.svg"
            target.write_text(svg, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
