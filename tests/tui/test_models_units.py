"""The model browser's pure helpers: Ollama-style sizes, ages and countdowns, sorting, filtering, names."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from rich.console import Console

from core.ollama.types import LocalModel, ModelDetails, ShowInfo
from core.units import format_age, format_model_size, format_until
from tui.screens.models.copy_dialog import full_name, name_problem
from tui.screens.models.pull_dialog import pull_name_problem
from tui.widgets.models.details import capabilities_text, facts_table
from tui.widgets.models.table import SortOrder, filter_models, sort_models

DAY = 86400


@pytest.mark.parametrize(("size", "text"), [
    (5_225_388_164, "5.2 GB"), (17_396_936_230, "17 GB"), (274_302_450, "274 MB"), (None, "n/a"),
])
def test_model_sizes_read_like_ollama_list(size: int | None, text: str) -> None:
    assert format_model_size(size) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "n/a"), (12, "just now"), (59, "just now"), (60, "1m ago"), (5 * 3600 + 10, "5h ago"),
    (3 * DAY, "3d ago"), (8 * DAY, "8d ago"), (20 * DAY, "2w ago"), (90 * DAY, "3mo ago"),
    (400 * DAY, "13mo ago"), (700 * DAY, "23mo ago"), (800 * DAY, "2y ago"),
])
def test_ages_fit_the_modified_column(seconds: float | None, text: str) -> None:
    assert format_age(seconds) == text


@pytest.mark.parametrize(("seconds", "short", "long"), [
    (700 * DAY, "23mo ago", "23 months ago"), (90, "1m ago", "About a minute ago"),
    (3700, "1h ago", "About an hour ago"), (47 * 3600, "47h ago", "47 hours ago"),
    (800 * DAY, "2y ago", "2 years ago"), (1 * DAY * 10, "10d ago", "10 days ago"),
])
def test_the_column_and_the_cli_say_the_same_age(seconds: float, short: str, long: str) -> None:
    """One formatter: the browser's column is the short spelling of what `llamadeck ls` prints."""
    assert format_age(seconds) == short
    assert format_age(seconds, long=True) == long


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "n/a"), (-3, "stopping…"), (0, "stopping…"), (30, "in 30 s"), (61, "in 1 minute"),
    (290, "in 4 minutes"), (3599, "in 59 minutes"), (3600, "in 1 hour"), (3 * 3600, "in 3 hours"),
    (3 * DAY, "in 3 days"), (292 * 365 * DAY, "forever"),  # keep_alive -1: Ollama sets ~292 years ahead
])
def test_countdowns_until_unload(seconds: float | None, text: str) -> None:
    assert format_until(seconds) == text


def model(name: str, size: int = 1, quant: str = "Q4_K_M", params: str = "7B", family: str = "llama",
          day: int = 1) -> LocalModel:
    return LocalModel(name=name, size=size, digest=name, modified_at=datetime(2025, 1, day, tzinfo=UTC),
                      details=ModelDetails(family=family, parameter_size=params, quantization_level=quant))


STORE = [
    model("b:q8", size=8, quant="Q8_0", params="8.0B", family="qwen3", day=3),
    model("a:f16", size=16, quant="F16", params="137M", family="nomic-bert", day=1),
    model("c:q4", size=4, quant="Q4_K_M", params="14.8B", family="qwen2", day=2),
    model("d:odd", size=4, quant="MXFP9", params="", family="", day=2),
]


@pytest.mark.parametrize(("order", "names"), [
    (SortOrder("name", False), ["a:f16", "b:q8", "c:q4", "d:odd"]),
    (SortOrder("size", True), ["a:f16", "b:q8", "c:q4", "d:odd"]),  # equal sizes keep name order
    (SortOrder("params", True), ["c:q4", "b:q8", "a:f16", "d:odd"]),  # 137M below 8.0B, unknown last
    (SortOrder("quant", False), ["a:f16", "b:q8", "c:q4", "d:odd"]),  # by quality, unknown types last
    (SortOrder("family", False), ["d:odd", "a:f16", "c:q4", "b:q8"]),
    (SortOrder("modified", True), ["b:q8", "c:q4", "d:odd", "a:f16"]),
])
def test_each_column_sorts_by_what_it_means(order: SortOrder, names: list[str]) -> None:
    assert [m.name for m in sort_models(STORE, order)] == names


@pytest.mark.parametrize(("text", "names"), [
    ("", ["b:q8", "a:f16", "c:q4", "d:odd"]),
    ("QWEN", ["b:q8", "c:q4"]),  # case-insensitive, family included
    ("qwen q8", ["b:q8"]),  # every word must match
    ("14.8b", ["c:q4"]),
    ("f16 nomic", ["a:f16"]),
    ("zzz", []),
])
def test_the_filter_matches_every_word(text: str, names: list[str]) -> None:
    assert [m.name for m in filter_models(STORE, text)] == names


@pytest.mark.parametrize(("name", "problem"), [
    ("my-qwen:8b", None),
    ("", "Type a name"),
    ("my model", "no spaces"),
    ("qwen3:8b", "current name"),
    ("llama3.2", "llama3.2:latest already exists"),  # a name without a tag means :latest
])
def test_copy_names_that_would_overwrite_are_refused(name: str, problem: str | None) -> None:
    found = name_problem(name, "qwen3:8b", ["qwen3:8b", "llama3.2:latest"])
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_full_names_follow_ollama() -> None:
    assert full_name("qwen3") == "qwen3:latest"
    assert full_name("hf.co/bartowski/Qwen2.5-7B-GGUF:Q4_K_M") == "hf.co/bartowski/Qwen2.5-7B-GGUF:Q4_K_M"
    assert full_name("registry.local:5000/team/model") == "registry.local:5000/team/model:latest"


def test_pull_names() -> None:
    assert pull_name_problem(" qwen3:8b ") is None
    assert pull_name_problem("  ") is not None
    assert pull_name_problem("qwen 3") is not None


def test_capabilities_tick_the_four_users_ask_about_and_list_the_rest() -> None:
    text = capabilities_text(("completion", "tools", "insert")).plain
    assert text == "✓ completion  · thinking  ✓ tools  · vision  ✓ insert"


def test_per_layer_head_counts_read_as_a_range() -> None:
    info = ShowInfo(name="gemma3:12b", architecture="gemma3", head_count=16,
                    head_count_kv=(8, 8, 8, 8, 8, 4), block_count=6)
    out = StringIO()
    Console(file=out, width=100).print(facts_table(info))
    assert "KV heads    4-8 per layer" in out.getvalue() and "Heads       16" in out.getvalue()
