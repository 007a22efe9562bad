"""The planner at 80x24, keyboard only: verdicts on a fake RTX 4090, inputs, details, machines, help."""

from __future__ import annotations

import psutil
from rich.text import Text

from core.config import Settings
from core.units import format_bytes, format_ctx
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, GiB
from tests.tui.conftest import screen_text, wait_for
from tests.tui.models_support import one_line
from tests.tui.planner_support import SIZE, cell, open_planner, plan_of, planner_app, type_into
from tui.screens.help import HelpScreen
from tui.screens.planner.picker import PickerScreen
from tui.widgets.planner.detail import PlanDetail
from tui.widgets.planner.table import PlanTable


def verdict(screen: object, quant: str) -> Text:
    return cell(screen, quant, "Runs on")  # type: ignore[arg-type]


async def test_a_catalog_model_on_this_machines_rtx_4090(settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        assert screen.focused is screen.query_one(PlanTable)  # keys work at once; no field eats them
        await plan_of(pilot, "llama3.1:8b")
        assert screen.plan is not None
        machine = screen.plan.inputs.machine
        assert not machine.is_hypothetical and machine.gpus[0].memory == 24 * GiB
        q4 = verdict(screen, "Q4_K_M")
        assert (q4.plain, str(q4.style)) == ("GPU", "bold green")
        assert verdict(screen, "F32").plain.startswith("-ngl ")  # 30 GiB of F32 does not fit 24 GiB
        assert str(verdict(screen, "F32").style) == "bold yellow"
        table = screen.query_one(PlanTable)
        assert table.selected is not None and table.selected.quant == "Q4_K_M"  # the usual question first
        text = screen_text(app)
        assert "Llama 3.1 8B Instruct · catalog · llama · 8.0B params" in text
        assert "Q4_K_M    GPU" in text and "RTX 4090 24.0 GiB" in text
        assert "Q4_K_M  all on GPU" in text  # the detail panel follows the cursor
        await pilot.press("down")
        await pilot.pause()
        assert screen.query_one(PlanDetail).row is not None
        assert screen.query_one(PlanDetail).row.quant == "Q4_K_S"


async def test_70b_on_a_hypothetical_4090_is_partial_with_its_ngl(settings: Settings) -> None:
    app = planner_app(settings, nvml=FakeNvml([]))  # this box has no GPU; the plan is for another
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await type_into(pilot, "plan-machine", "4090")
        await type_into(pilot, "plan-ram", "64")
        await pilot.press("escape")
        assert screen.choices.cards == ("4090",) and screen.choices.ram_gb == 64
        await plan_of(pilot, "llama3.1:70b")
        assert screen.plan is not None and screen.plan.inputs.machine.is_hypothetical
        row = screen.plan.row("Q4_K_M")
        q4 = verdict(screen, "Q4_K_M")
        assert q4.plain == f"-ngl {row.n_gpu_layers}/81" and str(q4.style) == "bold yellow"
        assert 30 < row.n_gpu_layers < 60
        assert verdict(screen, "F16").plain == "won't fit" and str(verdict(screen, "F16").style) == "bold red"
        assert verdict(screen, "IQ1_S").plain == "GPU"
        await pilot.press("z")  # the details, full screen
        await pilot.pause()
        text = one_line(screen_text(app))
        assert f"llama-server -m Llama-3.1-70B-Instruct-Q4_K_M.gguf -c 8192 -fa on -ngl {row.n_gpu_layers}" \
            in text
        assert f"-ngl {row.n_gpu_layers}:" in text and "RAM bandwidth sets the pace" in text
        await pilot.press("z")
        await pilot.pause()
        assert screen.maximized is None


async def test_context_and_kv_keys_replan(settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "llama3.1:8b")
        await pilot.press("x")  # the KV column is in the second view
        assert cell(screen, "Q4_K_M", "KV").plain == "1.0 GiB"  # 32 layers x 8 KV heads x 128 x 2 x 2 B x 8k
        first = screen.plan
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.settled and screen.plan is not first)
        assert screen.plan is not None and screen.plan.inputs.ctx == 16384
        assert cell(screen, "Q4_K_M", "KV").plain == "2.0 GiB"
        await pilot.press("k")  # f16 -> q8_0: 34 bytes per 32 values instead of 64
        await wait_for(pilot, lambda: screen.settled and screen.plan.inputs.kv_type == "q8_0")
        assert cell(screen, "Q4_K_M", "KV").plain == "1.1 GiB"
        await pilot.press("C", "C")
        await wait_for(pilot, lambda: screen.settled and screen.plan.inputs.ctx == 4096)
        await type_into(pilot, "plan-ctx", "100k")
        await wait_for(pilot, lambda: screen.settled and screen.plan.inputs.ctx == 102400)
        assert "Ctx 100k" in screen_text(app)
        await pilot.press("escape")
        assert screen.focused is screen.query_one(PlanTable)
        await pilot.press("r")  # Ollama: one slot, num_ctx per request
        await wait_for(pilot, lambda: screen.settled and screen.plan.inputs.settings.runtime == "ollama")
        assert screen.plan.inputs.settings.n_seq == 1


async def test_the_detail_panel_shows_the_commands_and_y_copies(settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "llama3.1:8b")
        await pilot.press("enter")  # Enter on the row moves into the details
        await pilot.pause()
        assert screen.focused is screen.query_one(PlanDetail)
        await pilot.press("z")
        await pilot.pause()
        text = one_line(screen_text(app))
        assert "llama-server -m Llama-3.1-8B-Instruct-Q4_K_M.gguf -c 8192 -fa on" in text
        assert "OLLAMA_NUM_PARALLEL=1 OLLAMA_FLASH_ATTENTION=1 ollama serve" in text
        # llama-server's 4 slots share -c 8192; Ollama gives each of its 4 slots num_ctx: 2048 each
        assert "FROM ./Llama-3.1-8B-Instruct-Q4_K_M.gguf" in text and "PARAMETER num_ctx 8192" in text
        assert "GPU0 NVIDIA GeForce RTX 4090" in text and "weights" in text and "overhead" in text
        await pilot.press("z", "escape")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == "llama-server -m Llama-3.1-8B-Instruct-Q4_K_M.gguf -c 8192 -fa on"
        await pilot.press("o")
        await pilot.pause()
        assert "OLLAMA_FLASH_ATTENTION=1 ollama serve" in app.clipboard
        assert "PARAMETER num_ctx 8192" in app.clipboard


async def test_free_now_plans_with_the_memory_left(settings: Settings) -> None:
    app = planner_app(settings, nvml=FakeNvml([FakeGpu(memory_used=14 * GiB)]))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "llama3.1:8b")
        assert verdict(screen, "F16").plain == "GPU"
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"free", "enter")
        await wait_for(pilot, lambda: screen.settled and screen.choices.free_now and screen.plan is not None
                       and screen.plan.inputs.machine.gpus[0].memory == 10 * GiB)
        assert verdict(screen, "F16").plain.startswith("-ngl ")


async def test_machine_picker_and_cpu_only(settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "qwen3:8b")
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"3060", "enter")
        await wait_for(pilot, lambda: screen.settled and screen.choices.cards == ("RTX 3060 12GB",))
        assert screen.plan is not None and screen.plan.inputs.machine.gpus[0].memory == 12 * GiB
        # a hypothetical machine starts from this machine's RAM, which the RAM field showed
        ram = screen.plan.inputs.machine.ram
        assert ram == round(psutil.virtual_memory().total / GiB, 1) * GiB
        assert f"RTX 3060 12GB 12.0 GiB + {format_bytes(ram)} RAM (hypothetical)" in screen_text(app)
        await type_into(pilot, "plan-machine", "cpu")
        await wait_for(pilot, lambda: screen.settled and screen.plan is not None
                       and not screen.plan.inputs.machine.gpus)
        assert verdict(screen, "Q4_K_M").plain == "CPU" and str(verdict(screen, "Q4_K_M").style) == \
            "bold dark_orange"


async def test_model_picker_filters_the_catalog(settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        await pilot.press(*"r1 qwen 32", "enter")
        await wait_for(pilot, lambda: screen.settled and screen.model is not None)
        assert screen.model is not None and screen.model.facts.name == "DeepSeek-R1-Distill-Qwen-32B"
        assert screen.plan is not None


async def test_help_lists_the_planner_keys(settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await open_planner(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        await pilot.press(*["down"] * 14)  # the list is longer than 24 lines
        await pilot.pause()
        text += screen_text(app)
        body = app.screen.query_one("#help-body")
        while body.scroll_y < body.max_scroll_y:  # the whole list, a page at a time
            body.scroll_page_down(animate=False)
            await pilot.pause()
            text += screen_text(app)
        # the names the key line uses, then the hidden keys, each with its explanation where it has one
        for words in ("Model - Pick one", "Type a model", "Context - The next preset", "KV cache type",
                      "Flash attention", "Runtime", "Machine", "Copy command", "Quantize to this",
                      "Zoom the details", "More columns", "Goal for the best row", "Measure RAM bandwidth"):
            assert words in text, words


async def test_quantize_hands_the_row_to_the_pipeline(settings: Settings) -> None:
    app = planner_app(settings)
    calls: list[tuple[str | None, str | None]] = []
    app.open_pipeline = lambda source=None, quant=None, host=None: calls.append((source, quant))  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await open_planner(pilot)
        await plan_of(pilot, "llama3.1:8b")
        await pilot.press("down", "p")
        await pilot.pause()
        assert calls == [("meta-llama/Llama-3.1-8B-Instruct", "Q4_K_S")]


async def test_rpc_devices_typed_into_the_machine_field_join_the_plan(settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "llama3.1:70b")
        await type_into(pilot, "plan-machine", "4060 Ti 16GB + 10.0.0.2:50052=3060")
        await wait_for(pilot, lambda: screen.settled and screen.plan is not None
                       and len(screen.plan.inputs.machine.gpus) == 2)
        assert screen.plan is not None
        rpc, local = screen.plan.inputs.machine.gpus
        assert (rpc.kind, local.kind) == ("rpc", "cuda") and rpc.name.startswith("RPC0 10.0.0.2:50052")
        text = one_line(screen_text(app))
        assert "RPC0" in text
        await type_into(pilot, "plan-machine", "4090 + 10.0.0.2:99999")
        await wait_for(pilot, lambda: "10.0.0.2:99999" in one_line(screen_text(app)))
        assert "is not an RPC server" in one_line(screen_text(app))


async def test_auto_context_shows_what_fit_picks_per_row(settings: Settings) -> None:
    app = planner_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await plan_of(pilot, "llama3.1:8b")
        await type_into(pilot, "plan-machine", "3060")
        await type_into(pilot, "plan-ctx", "auto")
        await wait_for(pilot, lambda: screen.settled and screen.plan is not None
                       and screen.plan.inputs.auto_ctx)
        assert screen.plan is not None
        row = screen.plan.row("Q4_K_M")
        assert row.fit_ctx is not None and 4096 <= row.fit_ctx < 131072
        assert cell(screen, "Q4_K_M", "Ctx").plain == format_ctx(row.fit_ctx)
