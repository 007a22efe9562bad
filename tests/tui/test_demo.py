"""`./dev demo` builds the real app on the fake Ollama and the fake GPU: a model and a GPU are on screen."""

from __future__ import annotations

from pathlib import Path

from scripts.demo import demo_app
from tests.tui.conftest import screen_text, wait_for


async def test_the_demo_shows_a_fake_gpu_and_the_fake_ollamas_models(tmp_path: Path) -> None:
    app, fake = demo_app(tmp_path)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: "4090" in screen_text(app))
            await pilot.press("2")
            await wait_for(pilot, lambda: "qwen3:8b" in screen_text(app))
    finally:
        fake.close()
