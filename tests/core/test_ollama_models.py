"""The Ollama dataclasses' derived values: the PROCESSOR column, parameter counts, /api/show helpers."""

from __future__ import annotations

import pytest

from core.ollama.types import ModelDetails, RunningModel, ShowInfo


def processor(size: int, vram: int) -> str:
    return RunningModel(name="m", size=size, size_vram=vram).processor


@pytest.mark.parametrize(("size", "vram", "text"), [
    (5_137_025_024, 5_137_025_024, "100% GPU"),
    (5_137_025_024, 0, "100% CPU"),
    (0, 0, "100% CPU"),  # Ollama checks size_vram == 0 first
    (10_000, 4_000, "60%/40% CPU/GPU"),
    (3, 1, "67%/33% CPU/GPU"),
    (200, 103, "49%/51% CPU/GPU"),  # 48.5 % on CPU: Go's math.Round goes up; Python's round() would say 48
    (1000, 995, "1%/99% CPU/GPU"),  # 0.5 % rounds up too
    (1000, 999, "0%/100% CPU/GPU"),
    (100, 150, "Unknown"),  # more in VRAM than the whole: Ollama says Unknown
])
def test_processor_column_matches_ollama_ps(size: int, vram: int, text: str) -> None:
    assert processor(size, vram) == text


def test_cpu_only() -> None:
    assert RunningModel(name="m", size=10, size_vram=0).on_cpu_only
    assert not RunningModel(name="m", size=10, size_vram=1).on_cpu_only
    assert not RunningModel(name="m", size=0, size_vram=0).on_cpu_only


@pytest.mark.parametrize(("text", "count"), [
    ("7.6B", 7_600_000_000), ("137M", 137_000_000), ("1B", 1_000_000_000), ("136.73M", 136_730_000),
    ("671B", 671_000_000_000), ("8K", 8_000), ("", None), (None, None), ("big", None),
])
def test_parameter_count_from_parameter_size(text: str | None, count: int | None) -> None:
    assert ModelDetails(parameter_size=text).parameter_count == count


def test_show_info_helpers() -> None:
    info = ShowInfo(
        name="qwen3:8b",
        parameters='repeat_penalty                 1\nstop                           "<|im_start|>"\n'
                   'stop                           "<|im_end|>"\ntemperature                    0.6',
        license="\n  Apache License\n  Version 2.0, January 2004\n\n  http://www.apache.org/licenses/\nmore",
        model_info=(("general.architecture", "qwen3"), ("qwen3.block_count", 36)),
    )
    assert info.parameter_list == (("repeat_penalty", "1"), ("stop", "<|im_start|>"), ("stop", "<|im_end|>"),
                                   ("temperature", "0.6"))
    assert info.license_head(2) == "Apache License\nVersion 2.0, January 2004"
    assert info.info("qwen3.block_count") == 36
    assert info.info("missing") is None
