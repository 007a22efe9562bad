"""`llamadeck plan --json` and the planner screen are twins: for the same model and machine they show
the same numbers, row for row.

Each case plans a model twice, once through the CLI's arguments and once by
typing into the screen's fields, and holds every row of the screen's table to
the CLI's JSON: the plan's own numbers (file size, memory per device and in
total, layers on the GPU, experts in RAM, tokens/s) and the cells a user reads
(File, the memory columns, Runs on, Decode, Prompt). Models: a catalog dense
model, a catalog MoE, and a hollow GGUF file. Machines: this one (a fake RTX
4090), CPU only with given RAM, one 16 GB card, two cards.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from cli import main as cli_main
from cli import plan as plan_cmd
from core.config import Settings
from core.hardware.probe import HardwareProbe
from core.planner.report import column_views
from core.planner.types import QuantRow
from core.units import format_bytes, format_tps
from tests.fakes.fake_nvml import FakeGpu, FakeNvml
from tests.fakes.hollow_gguf import hollow_model
from tests.tui.conftest import wait_for
from tests.tui.planner_support import open_planner, plan_of, planner_app, type_into
from tui.screens.planner.screen import PlannerScreen
from tui.widgets.planner.table import PlanTable, styled_cells

WIDE = (200, 50)  # every column on screen
MODELS = ("llama3.1:8b", "qwen3:30b", "hollow")
# (what the screen's Machine and RAM fields get, the same machine as `llamadeck plan` flags)
MACHINES = {
    "this machine": (None, None, []),
    "cpu only": ("cpu", "32", ["--gpu", "cpu", "--ram", "32"]),
    "one 16 GB card": ("4060 Ti 16GB", "32", ["--gpu", "4060 Ti 16GB", "--ram", "32"]),
    "two cards": ("2x 3090", "64", ["--gpu", "2x 3090", "--ram", "64"]),
}


def cli_plan(settings: Settings, model: str, flags: list[str]) -> dict[str, Any]:
    """What `llamadeck plan MODEL FLAGS --json` prints; this machine is the app's fake 4090."""
    args = cli_main.build_parser("plan").parse_args(["plan", model, *flags, "--json"])
    probe = None if flags else HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu()]))
    out = io.StringIO()
    try:
        assert plan_cmd.run(args, settings, probe=probe, out=out) == 0
    finally:
        if probe is not None:
            probe.close()
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def shown_verdict(row: dict[str, Any]) -> str:
    """What the Runs on cell must say for a JSON row: its placement, -ngl or the experts left in RAM."""
    if row["placement"] == "gpu":
        gpus = sum(1 for d in row["memory"]["devices"] if d["is_gpu"] and d["layers"])
        return "GPU" if gpus <= 1 else f"{gpus} GPUs"
    if row["placement"] == "partial":
        if row["expert_layers_on_cpu"]:
            return f"exps {row['expert_layers_on_cpu']}/{row['n_layers']} RAM"
        return f"-ngl {row['n_gpu_layers']}/{row['n_layers'] + 1}"
    return "CPU" if row["placement"] == "cpu" else "won't fit"


def memory_column(device: dict[str, Any], n_gpus: int) -> str:
    if not device["is_gpu"]:
        return "RAM"
    return "GPU" if n_gpus == 1 else str(device["device"]).split(" ", 1)[0]


def assert_same_row(table: PlanTable, seen: QuantRow, row: dict[str, Any]) -> None:
    quant = row["quant"]
    # the numbers the screen planned with
    assert seen.file_size == row["file_size"], quant
    assert seen.memory.total == row["memory"]["total"], quant
    assert [d.total for d in seen.memory.devices] == [d["total"] for d in row["memory"]["devices"]], quant
    assert (seen.placement, seen.n_gpu_layers, seen.expert_layers_on_cpu) == \
        (row["placement"], row["n_gpu_layers"], row["expert_layers_on_cpu"]), quant
    assert (seen.decode_tps, seen.prompt_tps) == (row["decode_tps"], row["prompt_tps"]), quant
    # the cells a user reads
    def shown(column: str) -> str:
        return table.get_cell(quant, column).plain

    assert shown("File") == format_bytes(row["file_size"]), quant
    devices = row["memory"]["devices"]
    n_gpus = sum(1 for d in devices if d["is_gpu"])
    for device in devices:
        column = memory_column(device, n_gpus)
        assert shown(column) == format_bytes(device["total"]), (quant, column)
    assert shown("Runs on") == shown_verdict(row), quant
    assert shown("tok/s") == format_tps(row["decode_tps"]), quant
    # Prompt tok/s is in the other view (x); the same cells, from the same core function
    prompt = styled_cells(seen, view=column_views(table.plan)[1])[-2] if table.plan else None
    assert prompt is not None and prompt.plain == format_tps(row["prompt_tps"]), quant


async def screen_plan(pilot: Pilot[object], screen: PlannerScreen, model: str,
                      expected: dict[str, Any]) -> None:
    await plan_of(pilot, model)
    # the plan on screen is for this model and machine (a machine change replans on its own)
    await wait_for(pilot, lambda: screen.plan is not None and screen.model is not None
                   and screen.model.spec == model
                   and screen.plan.inputs.machine.name == expected["inputs"]["machine"]["name"])


@pytest.mark.parametrize("machine", list(MACHINES))
async def test_the_cli_and_the_screen_plan_the_same_numbers(settings: Settings, tmp_path: Path,
                                                            machine: str) -> None:
    field, ram, flags = MACHINES[machine]
    hollow = str(hollow_model("qwen2.5-0.5b", tmp_path))
    app = planner_app(settings)  # this machine: one fake RTX 4090
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_planner(pilot)
        if field is not None and ram is not None:
            await type_into(pilot, "plan-machine", field)
            await type_into(pilot, "plan-ram", ram)
            await pilot.press("escape")
        for name in MODELS:
            model = hollow if name == "hollow" else name
            expected = await asyncio.to_thread(cli_plan, settings, model, flags)  # its own event loop
            await screen_plan(pilot, screen, model, expected)
            assert screen.plan is not None
            assert screen.plan.inputs.machine.is_hypothetical == bool(flags)
            table = screen.query_one(PlanTable)
            rows = {r.quant: r for r in screen.plan.rows}
            assert list(rows) == [r["quant"] for r in expected["rows"]]
            for row in expected["rows"]:
                assert_same_row(table, rows[row["quant"]], row)
