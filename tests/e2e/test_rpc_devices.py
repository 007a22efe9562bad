"""Real ggml-rpc-server devices of chosen sizes: llama.cpp sees the memory the proxy reports.

The proxy's framing is unit-tested in tests/support/test_rpc_devices.py;
here the real llama.cpp client and server speak through it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.fakes.hollow_gguf import hollow_model
from tests.support.llamacpp import LlamaCppTools
from tests.support.llamacpp_output import _run_fit, fit_placement
from tests.support.rpc_devices import rpc_devices

pytestmark = pytest.mark.e2e
GIB = 1024**3


def test_llama_cpp_sees_devices_of_the_chosen_sizes(llamacpp_tools: LlamaCppTools, tmp_path: Path) -> None:
    model = hollow_model("qwen2.5-0.5b", tmp_path)
    with rpc_devices(llamacpp_tools, [12 * GIB, 5 * GIB], tmp_path / "logs") as devs:
        assert len(devs.endpoints) == 2
        fit = str(llamacpp_tools.tool("llama-fit-params"))
        proc = _run_fit([fit, "-m", str(model), "--rpc", devs.rpc_arg, "-c", "4096", "-v"])
        log = proc.stdout + proc.stderr
        # common_params_fit_impl's per-device line: "- RPC0 (127.0.0.1:port): 12288 total, ..."
        totals = [int(t) for t in re.findall(r"- RPC\d \(127\.0\.0\.1:\d+\)\s*:\s+(\d+) total", log)]
        assert totals == [12288, 5120], log[-3000:]
        # and fit runs against them: a 0.5B fits, so nothing changes
        assert fit_placement(llamacpp_tools, model, ["--rpc", devs.rpc_arg, "-c", "4096"]).n_gpu_layers == -1


def test_a_small_device_makes_fit_move_layers(llamacpp_tools: LlamaCppTools, tmp_path: Path) -> None:
    model = hollow_model("llama-3.1-8b", tmp_path)  # F16: 15 GiB of weights
    with rpc_devices(llamacpp_tools, [8 * GIB], tmp_path / "logs") as devs:
        args = fit_placement(llamacpp_tools, model, ["--rpc", devs.rpc_arg, "-c", "4096"])
    assert 0 < args.n_gpu_layers < 33
