"""The GGUF files on this machine in the Models screen (`g`): listed with their facts, split parts as one
row; from a row plan it, import it into the fake Ollama, delete it (every part) after confirming."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Input

from core.config import Settings
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf
from tests.tui.conftest import screen_text, wait_for
from tests.tui.models_support import SIZE, models_app, notes, one_line, open_browser, shown_names
from tests.tui.planner_support import open_planner, planner_app
from tui.app import LlamadeckApp
from tui.screens.confirm import ConfirmDialog
from tui.screens.models.screen import ModelsScreen
from tui.screens.planner.picker import PickerScreen
from tui.widgets.models.gguf_files import GgufFiles


def gguf_app(settings: Settings, fake: FakeOllama, tmp_path: Path) -> tuple[LlamadeckApp, Path]:
    models = tmp_path / "gguf"
    models.mkdir()
    tiny = llama_kv(**{"general.name": "Tiny Llama", "general.file_type": 7})
    write_gguf(models / "tiny-llama-q8.gguf", "llama", tiny, llama_tensors(wtype="Q8_0"))
    write_gguf(models / "big.gguf", "llama", llama_kv(ctx=4096), llama_tensors(n_layer=3),
               split_max_tensors=10)
    these = replace(settings, gguf_dirs=(models,), hf_cache_dir=tmp_path / "hub")
    return models_app(these, fake), models


async def open_files(pilot: object, screen: ModelsScreen) -> GgufFiles:
    files = screen.query_one(GgufFiles)
    await pilot.press("g")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: files.scanned)  # type: ignore[arg-type]
    return files


async def highlight_file(pilot: object, files: GgufFiles, name: str) -> None:
    target = [f.path.name for f in files.files].index(name)
    while files.table.cursor_row != target:
        await pilot.press("down" if files.table.cursor_row < target else "up")  # type: ignore[attr-defined]


async def test_gguf_files_are_listed_with_their_facts_and_split_parts_as_one(
        settings: Settings, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    app, _ = gguf_app(settings, fake_ollama, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        files = await open_files(pilot, screen)
        text = screen_text(app)
        assert "GGUF files · 2 models" in one_line(text)
        assert "tiny-llama-q8.gguf" in text and "Q8_0" in text and "llama" in text
        assert "big-00001-of-00003.gguf (+2 parts)" in text or "big-00001-of-00003.gguf (+2" in text
        assert len(files.files) == 2
        await highlight_file(pilot, files, "big-00001-of-00003.gguf")
        await pilot.pause()
        assert "3 parts" in one_line(screen_text(app))
        assert "qwen3:8b" not in screen_text(app)  # the Ollama models are out of the way
        await pilot.press("escape")
        await pilot.pause()
        assert not screen.has_class("-gguf") and "qwen3:8b" in screen_text(app)


async def test_a_split_file_is_deleted_whole_after_confirming(
        settings: Settings, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    app, folder = gguf_app(settings, fake_ollama, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        files = await open_files(pilot, screen)
        await highlight_file(pilot, files, "big-00001-of-00003.gguf")
        await pilot.press("d")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "Delete 3 files" in dialog.message
        assert all(f"big-0000{i}-of-00003.gguf" in dialog.message for i in (1, 2, 3))
        await pilot.press("n")
        assert len(list(folder.glob("big-*"))) == 3  # cancelled: all still there
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: len(files.files) == 1)
        assert list(folder.glob("big-*")) == []
        assert any(n.startswith("Deleted big-00001-of-00003.gguf") for n in notes(app))


async def test_a_file_is_imported_into_ollama_and_listed_there(
        settings: Settings, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    app, _ = gguf_app(settings, fake_ollama, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        files = await open_files(pilot, screen)
        await highlight_file(pilot, files, "tiny-llama-q8.gguf")
        await pilot.press("i")
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "as tiny-llama:q8_0?" in dialog.message and fake_ollama.url in dialog.message
        await pilot.press("y")
        await wait_for(pilot, lambda: fake_ollama.find("tiny-llama:q8_0") is not None, timeout=10)
        await wait_for(pilot, lambda: "tiny-llama:q8_0" in shown_names(screen))
        assert "Imported tiny-llama-q8.gguf into Ollama as tiny-llama:q8_0." in notes(app)
        await highlight_file(pilot, files, "big-00001-of-00003.gguf")
        await pilot.press("i")  # a split model is refused with how to merge it
        assert isinstance(app.screen, ModelsScreen)
        assert "llama-gguf-split --merge" in notes(app)[-1]


async def test_f_plans_the_file(settings: Settings, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    app, folder = gguf_app(settings, fake_ollama, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        files = await open_files(pilot, screen)
        await highlight_file(pilot, files, "tiny-llama-q8.gguf")
        await pilot.press("f")
        await wait_for(pilot, lambda: app.current_mode == "planner")
        field = app.screen.query_one("#plan-model", Input)
        assert field.value == str(folder / "tiny-llama-q8.gguf")


async def test_the_planners_model_picker_lists_the_gguf_files(
        settings: Settings, fake_ollama: FakeOllama, tmp_path: Path) -> None:
    _, folder = gguf_app(settings, fake_ollama, tmp_path)
    these = replace(settings, gguf_dirs=(folder,), hf_cache_dir=tmp_path / "hub")
    app = planner_app(these, ollama=fake_ollama)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_planner(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen))
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        tiny = str(folder / "tiny-llama-q8.gguf")
        await wait_for(pilot, lambda: any(i.value == tiny for i in picker.items)
                       and any(i.value == "ollama:qwen3:8b" for i in picker.items))
        assert any(i.value.endswith("big-00001-of-00003.gguf") for i in picker.items)  # one item, not three
        assert not any(i.value.endswith("big-00002-of-00003.gguf") for i in picker.items)
        await pilot.press(*"tiny-llama-q8", "enter")
        await wait_for(pilot, lambda: screen.settled and screen.model is not None)
        assert screen.model is not None and screen.model.facts.name == "Tiny Llama"
