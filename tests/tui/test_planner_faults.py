"""Bad input on the planner screen: a sentence in place of the table (or under the inputs), never a crash.

After every failure the screen takes the next input and plans it, which is
the point: a typo or a broken file must not cost the user the session.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import replace
from pathlib import Path

from core.config import HostConfig, Settings
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf
from tests.fakes.tiny_models import TINY_LLAMA, write_checkpoint
from tests.tui.conftest import screen_text, wait_for
from tests.tui.models_support import one_line
from tests.tui.planner_support import (
    SIZE,
    cell,
    error_text,
    open_planner,
    plan_of,
    planner_app,
    problem_text,
    type_into,
)
from tui.widgets.planner.detail import PlanDetail


def dead_host(settings: Settings) -> Settings:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    return replace(settings, hosts=(HostConfig(name="gone", url=url),), default_host="gone")


async def test_unknown_name_then_a_good_one(settings: Settings) -> None:
    app = planner_app(dead_host(settings))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "deepsek-r1:32b")
        assert screen.has_class("-failed") and screen.plan is None
        sentence = error_text(screen)
        assert sentence.startswith("'deepsek-r1:32b' is not a file, a folder or a catalog model")
        assert "does not answer at http://127.0.0.1:" in sentence
        assert "Did you mean deepseek-r1:32b" in sentence
        assert "Did you mean deepseek-r1:32b" in one_line(screen_text(app))
        await plan_of(pilot, "deepseek-r1:32b")
        assert not screen.has_class("-failed") and screen.plan is not None
        assert cell(screen, "Q4_K_M", "Runs on").plain == "GPU"


async def test_corrupt_and_truncated_gguf_files(settings: Settings, tmp_path: Path) -> None:
    absurd = tmp_path / "absurd.gguf"
    absurd.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 40) + bytes(64))
    good = write_gguf(tmp_path / "good.gguf", "llama", llama_kv(), llama_tensors())
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:300])
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, str(absurd))
        assert "metadata entries, more than the file can hold" in error_text(screen)
        await plan_of(pilot, str(cut))
        assert error_text(screen).startswith("cut.gguf is not a valid GGUF file")
        await plan_of(pilot, str(good))
        assert screen.plan is not None and screen.model is not None and screen.model.kind == "gguf"
        assert screen.query_one("#plan-box").border_title is not None
        assert "good.gguf · gguf · llama" in screen_text(app)


async def test_unknown_architecture_plans_with_generic_rules_and_says_so(settings: Settings,
                                                                         tmp_path: Path) -> None:
    kv = {k.replace("llama.", "frobnicator."): v for k, v in llama_kv().items()}
    path = write_gguf(tmp_path / "frob.gguf", "frobnicator", kv, llama_tensors())
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, str(path))
        assert screen.plan is not None and not screen.has_class("-failed")
        assert cell(screen, "F16", "Runs on").plain == "GPU"  # stored as F16: the cursor starts there
        await pilot.press("z")
        await pilot.press(*["down"] * 30)
        await pilot.pause()
        assert "planned with generic rules" in one_line(screen_text(app))


async def test_missing_shards_are_listed(settings: Settings, tmp_path: Path) -> None:
    hf = write_checkpoint(tmp_path / "tiny", TINY_LLAMA, shards=3)
    (hf / "model-00002-of-00003.safetensors").unlink()
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, str(hf))
        assert "missing 1 of its 3 weight files" in error_text(screen)
        assert "model-00002-of-00003.safetensors" in error_text(screen)
        assert "Pick another model" in one_line(screen_text(app))


async def test_an_ollama_model_the_server_lacks(settings: Settings, fake_ollama: FakeOllama) -> None:
    app = planner_app(settings, ollama=fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "ollama:ghost:1b")
        assert error_text(screen).startswith(f"Model 'ghost:1b' is not on Ollama at {fake_ollama.url}.")
        await plan_of(pilot, "ollama:qwen3:8b")  # the same server, a model it has
        assert screen.model is not None and screen.model.kind == "ollama" and screen.plan is not None


async def test_bad_field_text_keeps_the_last_plan(settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "llama3.1:8b")
        shown = screen.plan
        await type_into(pilot, "plan-ctx", "lots")
        await pilot.pause()
        assert problem_text(screen) == "'lots' is not a context size."
        assert screen.has_class("-problem") and screen.plan is shown
        assert screen.query_one("#plan-ctx").has_class("-invalid")
        await type_into(pilot, "plan-machine", "4091")
        await pilot.pause()
        assert "'lots' is not a context size." in problem_text(screen)  # the first problem stays in view
        await type_into(pilot, "plan-ctx", "4k")
        await wait_for(pilot, lambda: problem_text(screen) == "Unknown GPU '4091'.")
        await type_into(pilot, "plan-machine", "4090")
        await wait_for(pilot, lambda: not screen.has_class("-problem") and screen.settled
                       and screen.plan is not None and screen.plan.inputs.machine.is_hypothetical)
        assert screen.plan.inputs.ctx == 4096


async def test_a_quantized_v_cache_needs_flash_attention(settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "llama3.1:8b")
        await pilot.press("k", "a", "a")  # q8_0, then flash attention auto -> on -> off
        await wait_for(pilot, lambda: screen.settled and screen.has_class("-failed"))
        assert "flash attention" in error_text(screen)
        assert "Change the input above" in one_line(screen_text(app))
        assert screen.query_one(PlanDetail).row is None
        await pilot.press("a")  # off -> auto
        await wait_for(pilot, lambda: screen.settled and not screen.has_class("-failed"))
        assert screen.plan is not None and screen.plan.inputs.settings.type_v == "q8_0"
