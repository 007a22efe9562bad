"""How a plan is written down: inputs parsed as typed, table cells, the placement in words, commands, JSON."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from core.errors import PlannerError
from core.facts import catalog
from core.planner.machine import hypothetical_spec
from core.planner.plan import plan
from core.planner.report import (
    card_list,
    cells,
    columns,
    explain,
    llama_server_command,
    machine_summary,
    model_file,
    next_ctx_preset,
    ollama_lines,
    parse_ctx,
    parse_flash_attn,
    settings_summary,
    speed_basis,
    where,
)
from core.planner.report_json import plan_json
from core.planner.source import PlannedModel, load_local
from core.planner.types import Plan, QuantRow
from core.units import format_bytes, format_ctx
from tests.fakes.gguf_files import llama_kv, llama_tensors, write_gguf


def _plan(spec: str, cards: list[str], ram: float, **kw: object) -> tuple[Plan, PlannedModel]:
    model = load_local(spec)
    return plan(model.facts, hypothetical_spec(cards, ram), **kw), model  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def llama8b_4090() -> tuple[Plan, PlannedModel]:
    return _plan("llama3.1:8b", ["4090"], 64, ctx=8192)


@pytest.fixture(scope="module")
def llama70b_4090() -> tuple[Plan, PlannedModel]:
    return _plan("llama3.1:70b", ["4090"], 64, ctx=8192)


@pytest.mark.parametrize(("text", "tokens"), [
    ("8192", 8192), ("8k", 8192), ("8K", 8192), (" 128k ", 131072), ("1.5k", 1536), ("1m", 1048576),
    ("2048", 2048),
])
def test_context_sizes_as_people_write_them(text: str, tokens: int) -> None:
    assert parse_ctx(text) == tokens


@pytest.mark.parametrize("text", ["", "abc", "8 k k", "-5", "0", "99m"])
def test_bad_context_sizes_are_sentences(text: str) -> None:
    with pytest.raises(PlannerError) as err:
        parse_ctx(text)
    assert str(err.value).endswith(".")


@pytest.mark.parametrize(("tokens", "shown"), [
    (8192, "8k"), (131072, "128k"), (122368, "119.5k"), (33024, "32.2k"), (512, "512"), (None, "–"),
])
def test_context_shown_short_and_never_rounded_up(tokens: int | None, shown: str) -> None:
    assert format_ctx(tokens) == shown
    if tokens and shown.endswith("k"):
        assert float(shown[:-1]) * 1024 <= tokens


def test_context_presets_step_and_stop_at_the_ends() -> None:
    assert next_ctx_preset(8192, 1) == 16384
    assert next_ctx_preset(8192, -1) == 4096
    assert next_ctx_preset(10000, 1) == 16384 and next_ctx_preset(10000, -1) == 8192
    assert next_ctx_preset(131072, 1) == 131072 and next_ctx_preset(2048, -1) == 2048


def test_flash_attention_words() -> None:
    assert (parse_flash_attn("auto"), parse_flash_attn("ON"), parse_flash_attn("off")) == (None, True, False)
    with pytest.raises(PlannerError):
        parse_flash_attn("maybe")


@pytest.mark.parametrize(("text", "cards"), [
    ("4090", ("4090",)), ("2x 3090", ("2x 3090",)), ("4060 Ti 16GB + 3060", ("4060 Ti 16GB", "3060")),
    ("cpu", ()), ("none", ()), ("a100, h100", ("a100", "h100")),
])
def test_machine_text_names_cards(text: str, cards: tuple[str, ...]) -> None:
    assert card_list(text) == cards


def test_columns_and_cells_line_up_per_device(llama8b_4090: tuple[Plan, PlannedModel]) -> None:
    p, _ = llama8b_4090
    titles = columns(p)
    assert titles[:5] == ["Quant", "Runs on", "tok/s", "GPU", "RAM"]
    row = p.row("Q4_K_M")
    cell = dict(zip(titles, cells(row, format_bytes), strict=True))
    assert cell["Runs on"] == "GPU"
    assert cell["GPU"] == format_bytes(row.memory.devices[0].total)
    assert cell["File"] == format_bytes(row.file_size)
    assert cell["+PPL L3-8B"] == "+0.175"
    assert cell["bpw"] == f"{row.bits_per_weight:.2f}"
    two, _ = _plan("llama3.1:8b", ["2x 3090"], 64, ctx=8192)
    assert columns(two)[3:6] == ["GPU0", "GPU1", "RAM"]
    assert where(two.row("Q4_K_M")) == "2 GPUs"


def test_imatrix_quants_are_marked(llama8b_4090: tuple[Plan, PlannedModel]) -> None:
    p, _ = llama8b_4090
    assert cells(p.row("IQ2_M"), format_bytes)[0] == " IQ2_M*"  # names line up with the marked best row's
    assert cells(p.row("Q4_K_M"), format_bytes, best=True)[0] == ">Q4_K_M"


def test_partial_offload_names_its_ngl_and_explains_it(llama70b_4090: tuple[Plan, PlannedModel]) -> None:
    p, model = llama70b_4090
    row = p.row("Q4_K_M")
    assert row.placement == "partial"
    assert where(row) == f"-ngl {row.n_gpu_layers}/{row.n_layers + 1}"
    words = " ".join(explain(p, row, format_bytes))
    gpu, cpu = row.memory.devices
    assert f"-ngl {row.n_gpu_layers}: {gpu.layers} layers on GPU0 RTX 4090 24GB plus the output layer" \
        in words
    assert f"the other {cpu.layers} of the 80 layers run on the CPU" in words
    assert gpu.layers + cpu.layers == 80
    assert "RAM bandwidth sets the pace" in words
    command = llama_server_command(p, row, model)
    assert command is not None
    assert shlex.split(command)[:3] == ["llama-server", "-m", "Llama-3.1-70B-Instruct-Q4_K_M.gguf"]
    assert f"-ngl {row.n_gpu_layers}" in command and "-c 8192" in command


def test_wont_fit_says_by_how_much_and_has_no_command(llama70b_4090: tuple[Plan, PlannedModel]) -> None:
    p, model = llama70b_4090
    row = p.row("F32")
    assert where(row) == "won't fit"
    words = explain(p, row, format_bytes)
    assert words[0].startswith(f"Won't fit: it needs {format_bytes(row.memory.total)}")
    assert any(s.startswith("CPU would need") for s in words)
    assert llama_server_command(p, row, model) is None and ollama_lines(p, row, model) is None


def test_cpu_only_machine() -> None:
    p, _ = _plan("llama3.1:8b", [], 32, ctx=4096)
    row = p.row("Q4_K_M")
    assert where(row) == "CPU"
    assert explain(p, row, format_bytes)[0] == "No GPU: the whole model runs on the CPU from RAM."
    assert columns(p)[3] == "RAM"


def test_moe_experts_in_ram_are_named() -> None:
    p, model = _plan("qwen3:30b", ["4090"], 64, ctx=8192)
    row = p.row("Q8_0")
    assert row.expert_layers_on_cpu > 0
    assert where(row) == f"exps {row.expert_layers_on_cpu}/{row.n_layers} RAM"
    assert "routed experts" in " ".join(explain(p, row, format_bytes))
    command = llama_server_command(p, row, model)
    assert command is not None and "-ot" in shlex.split(command)


def test_ollama_settings_for_an_ollama_plan() -> None:
    p, model = _plan("llama3.1:8b", ["3060"], 32, ctx=16384, kv_type="q8_0", runtime="ollama", parallel=2)
    row = p.row("Q4_K_M")
    lines = ollama_lines(p, row, model)
    assert lines is not None
    env = dict(part.split("=") for part in lines[0].removesuffix(" ollama serve").split())
    assert env["OLLAMA_KV_CACHE_TYPE"] == "q8_0" and env["OLLAMA_NUM_PARALLEL"] == "2"
    assert env["OLLAMA_FLASH_ATTENTION"] == "1"
    assert lines[1] == "FROM ./Llama-3.1-8B-Instruct-Q4_K_M.gguf"
    assert "PARAMETER num_ctx 16384" in lines


def test_the_gguf_given_is_the_file_to_run_for_its_own_quant(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "tiny-F16.gguf", "llama", llama_kv(), llama_tensors())
    model = load_local(str(path))
    assert model_file(model, "F16") == str(path)
    assert model_file(model, "Q8_0") == "tiny-F16-Q8_0.gguf"


def test_summaries(llama8b_4090: tuple[Plan, PlannedModel]) -> None:
    p, _ = llama8b_4090
    assert machine_summary(p.inputs.machine, format_bytes) == \
        "RTX 4090 24GB 24.0 GiB + 64.0 GiB RAM (hypothetical)"
    assert settings_summary(p) == ("ctx 8k per conversation (4 slots share one 8k cache) · "
                                   "llama-server -c 8k · KV f16 · flash attention on (auto)")
    separate = plan(catalog.facts("llama3.1:8b"), p.inputs.machine, ctx=8192, parallel=4,
                    quants=("Q4_K_M",))
    assert settings_summary(separate).startswith("ctx 8k per conversation (x 4 slots = 32k of KV) · "
                                                 "llama-server -c 32k ·")
    assert speed_basis(p.inputs.machine) == \
        "Speeds use RAM at 60.0 GB/s (assumed); RTX 4090 24GB at 1008 GB/s."


def test_json_has_every_row_with_sizes_in_bytes(llama8b_4090: tuple[Plan, PlannedModel]) -> None:
    p, model = llama8b_4090
    data = json.loads(json.dumps(plan_json(p, model)))
    assert set(data) == {"model", "inputs", "rows", "notices"}
    assert data["model"]["kind"] == "catalog" and data["model"]["architecture"] == "llama"
    assert data["inputs"]["ctx"] == 8192 and data["inputs"]["machine"]["gpus"][0]["memory"] == 24 * 1024**3
    assert [r["quant"] for r in data["rows"]] == [r.quant for r in p.rows]
    q4 = next(r for r in data["rows"] if r["quant"] == "Q4_K_M")
    row: QuantRow = p.row("Q4_K_M")
    assert q4["file_size"] == row.file_size and isinstance(q4["file_size"], int)
    assert q4["memory"]["total"] == sum(d["total"] for d in q4["memory"]["devices"]) == row.memory.total
    assert q4["placement"] == "gpu" and q4["verdict"] == "all on GPU"
    assert q4["llama_server_args"][:2] == ["-c", "8192"]
    # llama-server's 4 slots share one 8k cache; in Ollama's terms that is one slot of num_ctx 8192
    # (the context is what one conversation gets), not 4 slots of 2048
    assert q4["ollama"]["env"]["OLLAMA_NUM_PARALLEL"] == "1"
    assert q4["ollama"]["options"]["num_ctx"] == 8192


def test_json_rows_that_do_not_fit_have_no_commands(llama70b_4090: tuple[Plan, PlannedModel]) -> None:
    p, model = llama70b_4090
    f32 = next(r for r in plan_json(p, model)["rows"] if r["quant"] == "F32")
    assert (f32["placement"], f32["verdict"]) == ("none", "won't fit")
    assert f32["llama_server_command"] is None and f32["ollama"] is None and f32["decode_tps"] is None
