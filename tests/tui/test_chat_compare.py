"""Ctrl+F: one prompt to two models in turn, unloading between them, and a table of their numbers."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, SelectionList, TextArea

from core.config import Settings
from core.hardware.probe import HardwareProbe
from core.ollama.types import ModelDetails, ShowInfo
from core.planner.ollama_speed import predicted_decode_tps
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.tui.chat_support import chat_app, open_chat, type_prompt
from tests.tui.conftest import screen_text, wait_for
from tui.screens.chat.compare import CompareScreen


async def test_compare_two_models_fills_the_table_and_unloads_between(fake_ollama: Any,
                                                                     settings: Settings) -> None:
    fake_ollama.set_script(chunks=["A", " short", " answer."], thinking=[])
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await open_chat(pilot, "llama3.2:latest")
        await type_prompt(pilot, chat, "Explain the KV cache")
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        assert compare.query_one("#compare-prompt", TextArea).text == "Explain the KV cache"
        picker = compare.query_one(SelectionList)
        assert list(picker.selected) == ["llama3.2:latest"]  # the chat's model is checked already
        picker.select("qwen3:8b")
        seen = len(fake_ollama.requests)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not compare.running
                       and all(r.status == "done" for r in compare.results.values()), timeout=30)
        table = compare.query_one(DataTable)
        assert table.row_count == 2
        rows = {table.get_row_at(i)[0]: table.get_row_at(i) for i in range(2)}
        for model in ("llama3.2:latest", "qwen3:8b"):
            _name, ttft, prompt_tps, output_tps, predicted, vram, status = rows[model]
            assert ttft.endswith(" ms") and status == "done"
            assert output_tps == "100 tok/s"  # the fake's 10 ms per token
            assert prompt_tps == "1,000 tok/s" or prompt_tps == "1000 tok/s"
            assert str(vram).endswith("GiB")
            assert predicted != "–"
        result = compare.results["qwen3:8b"]
        assert result.reply == "A short answer." and result.vram and result.vram > 5 * 2**30
        text = screen_text(app)
        assert "Predicted" in text and "VRAM" in text
        # One after another, each unloaded (keep_alive 0) before the next one starts.
        calls = [(r.path, r.body.get("model"), r.body.get("keep_alive"))
                 for r in list(fake_ollama.requests)[seen:] if r.path in ("/api/chat", "/api/generate")]
        chats = [i for i, c in enumerate(calls) if c[0] == "/api/chat"]
        assert [calls[i][1] for i in chats] == ["llama3.2:latest", "qwen3:8b"]
        assert ("/api/generate", "llama3.2:latest", 0) in calls[chats[0]:chats[1]]
        assert ("/api/generate", "qwen3:8b", 0) in calls[chats[1]:]
        assert fake_ollama.running == {}
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is chat)


async def test_a_missing_model_fails_its_row_and_the_rest_still_run(fake_ollama: Any,
                                                                   settings: Settings) -> None:
    app = chat_app(fake_ollama, settings)
    async with app.run_test(size=(100, 30)) as pilot:
        chat = await open_chat(pilot, "llama3.2:latest")
        chat.bar.models.append("ghost:7b")
        await type_prompt(pilot, chat, "hi")
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        compare.query_one(SelectionList).deselect_all()
        compare.query_one(SelectionList).select("ghost:7b")
        compare.query_one(SelectionList).select("llama3.2:latest")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not compare.running and bool(compare.results)
                       and all(r.status in ("done", "failed") for r in compare.results.values()))
        assert compare.results["ghost:7b"].status == "failed"
        assert "ghost:7b" in (compare.results["ghost:7b"].error or "")
        assert compare.results["llama3.2:latest"].status == "done"


def test_the_prediction_comes_from_the_planner(fake_ollama: Any, settings: Settings) -> None:
    model = fake_ollama.find("llama3.2:latest")
    raw = model.show()
    show = ShowInfo(name=model.name, model_info=tuple(sorted(raw["model_info"].items())),
                    details=ModelDetails(quantization_level="Q4_K_M"))
    probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu()]))
    try:
        fast, why = predicted_decode_tps(probe, show, 4096)
    finally:
        probe.close()
    assert why is None and fast is not None
    # A 2 GB model on a ~1 TB/s card: far above 100 tok/s, far below the bandwidth bound of ~500.
    assert 100 < fast < 600
    missing, why_not = predicted_decode_tps(probe, ShowInfo(name="x"), 4096)
    assert missing is None and why_not
