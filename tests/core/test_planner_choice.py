"""The best row for a goal, and how a row runs as the context grows."""

from __future__ import annotations

import dataclasses

import pytest

from core.errors import PlannerError
from core.facts import catalog
from core.planner.choice import READABLE_TPS, best_row, context_ladder, parse_goal
from core.planner.machine import hypothetical_spec
from core.planner.plan import plan


def test_each_goal_picks_by_its_own_rule() -> None:
    p = plan(catalog.facts("llama3.1:8b"), hypothetical_spec(["4060 Ti 16GB"], 32), ctx=32768)
    runs = [r for r in p.rows if r.placement != "none"]
    fastest = max(runs, key=lambda r: r.decode_tps or 0)
    assert best_row(p, "speed") is fastest
    quality = best_row(p, "quality")
    assert quality is not None and quality.placement == "gpu" and (quality.decode_tps or 0) >= READABLE_TPS
    on_gpu = [r for r in runs if r.placement == "gpu"]
    assert quality.bits_per_weight == max(r.bits_per_weight for r in on_gpu)
    assert quality.quant == "Q8_0"  # F16 spills out of 16 GB at 32k
    longest = best_row(p, "context")
    assert longest is not None and longest.max_ctx_on_gpu == max(r.max_ctx_on_gpu or 0 for r in runs)


def test_quality_is_not_bought_below_a_readable_speed() -> None:
    p = plan(catalog.facts("llama3.1:70b"), hypothetical_spec(["4090"], 128), ctx=8192,
             quants=("Q8_0", "Q2_K"))
    assert all((r.decode_tps or 0) < READABLE_TPS for r in p.rows)
    assert best_row(p, "quality") is best_row(p, "speed") is p.row("Q2_K")


def test_nothing_runs_means_no_best_row() -> None:
    p = plan(catalog.facts("llama3.1:70b"), hypothetical_spec([], 8), ctx=8192, quants=("F16",))
    assert p.rows[0].placement == "none" and best_row(p) is None
    with pytest.raises(PlannerError):
        parse_goal("cheap")


def test_the_ladder_shows_ngl_and_speed_falling_as_the_context_grows() -> None:
    facts = catalog.facts("llama3.1:70b")
    p = plan(facts, hypothetical_spec(["4090"], 128), ctx=8192, quants=("Q4_K_M",))
    steps = context_ladder(facts, p, "Q4_K_M")
    assert [s.ctx for s in steps] == [2048, 4096, 8192, 16384, 32768, 65536, 131072]  # up to the trained 128k
    at_8k = next(s for s in steps if s.ctx == 8192)
    assert at_8k.n_gpu_layers == p.rows[0].n_gpu_layers and at_8k.decode_tps == p.rows[0].decode_tps
    ngl = [s.n_gpu_layers for s in steps]
    assert ngl == sorted(ngl, reverse=True) and ngl[0] > ngl[-1]
    speeds = [s.decode_tps or 0 for s in steps]
    assert speeds == sorted(speeds, reverse=True)
    kv = [s.kv_cache for s in steps]
    assert kv == sorted(kv) and kv[-1] == 64 * kv[0]


def test_the_ladder_stops_where_the_model_no_longer_fits() -> None:
    facts = catalog.facts("llama3.1:8b")
    machine = dataclasses.replace(hypothetical_spec([], 16), ram=12 * 1024**3)
    p = plan(facts, machine, ctx=2048, quants=("Q8_0",))
    steps = context_ladder(facts, p, "Q8_0")
    assert steps[-1].placement == "none" and all(s.placement == "cpu" for s in steps[:-1])
    assert steps[-1].ctx < 131072
