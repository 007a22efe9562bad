"""`llamadeck plan --rpc` end to end: two real ggml-rpc-servers and a real `llama-server --rpc`.

The servers sit behind proxies that report 2 GiB each (tests/support/rpc_devices.py),
so this CPU-only machine has two llama.cpp devices of a chosen size. The plan
asks the servers for their memory itself (bare HOST:PORT), the llama-server
it prints is started against them and serves a completion, and what that
server's log says it put on each device is what the plan predicted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import cli.main as cli
from tests.support.llama_server import llama_server
from tests.support.llamacpp import LlamaCppTools
from tests.support.rpc_devices import RpcDevices, rpc_devices

pytestmark = pytest.mark.e2e

GiB = 1024**3
MiB = 1024**2
# "load_tensors: RPC0[127.0.0.1:40123] model buffer size =     4.88 MiB" (llama.cpp 0.3.36 names every RPC
# device's buffer "RPC0[endpoint]", so the endpoint tells them apart)
_BUFFER = re.compile(r"RPC\d+\[([\d.]+:\d+)\] (model|KV|compute) buffer size =\s+([\d.]+) MiB")


@pytest.fixture
def devices(llamacpp_tools: LlamaCppTools, tmp_path: Path) -> Iterator[RpcDevices]:
    with rpc_devices(llamacpp_tools, [2 * GiB, 2 * GiB], tmp_path / "rpc") as devs:
        yield devs


def _plan(capsys: pytest.CaptureFixture[str], model: Path, devs: RpcDevices) -> dict[str, object]:
    code = cli.main(["plan", str(model), "--gpu", "cpu", "--ram", "16", "--rpc", *devs.endpoints,
                     "--ctx", "1024", "--parallel", "1", "--fa", "on", "--quant", "F16", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    data: dict[str, object] = json.loads(out)
    return data


def test_plan_rpc_runs_on_two_rpc_servers_as_predicted(
    capsys: pytest.CaptureFixture[str], llamacpp_tools: LlamaCppTools, tiny_gguf_f16: Path,
    devices: RpcDevices, tmp_path: Path,
) -> None:
    data = _plan(capsys, tiny_gguf_f16, devices)
    row = data["rows"][0]  # type: ignore[index]
    machine = data["inputs"]["machine"]  # type: ignore[index]
    # the plan asked each server (through its proxy) and got the size it reports
    assert [g["memory"] for g in machine["gpus"]] == [2 * GiB, 2 * GiB]
    assert [g["kind"] for g in machine["gpus"]] == ["rpc", "rpc"]
    commands = row["rpc_commands"]
    assert commands[-1].endswith(f"--rpc {','.join(devices.endpoints)}")
    predicted = {d["device"].split()[1]: d for d in row["memory"]["devices"] if d["device"].startswith("RPC")}
    assert list(predicted) == list(devices.endpoints)  # llama.cpp's order: as given, in front

    log = tmp_path / "llama-server.log"
    args = [*row["llama_server_args"], "--rpc", devices.rpc_arg, "-lv", "4", "--no-repack", "-t", "1"]
    with llama_server(llamacpp_tools, tiny_gguf_f16, args, log) as url:
        reply = httpx.post(f"{url}/completion", json={"prompt": "Hello", "n_predict": 8}, timeout=120).json()
        assert reply["tokens_predicted"] == 8 and reply["content"]

    real: dict[str, dict[str, float]] = {}
    for endpoint, kind, mib in _BUFFER.findall(log.read_text(errors="replace")):
        real.setdefault(endpoint, {})[kind] = float(mib)  # a compute buffer reserved twice: the last counts
    assert set(real) == set(devices.endpoints), log.read_text()[-3000:]
    for endpoint, p in predicted.items():
        r = real[endpoint]
        # weights and KV cache to the 0.01 MiB llama.cpp prints
        assert p["weights"] / MiB == pytest.approx(r["model"], abs=0.01), endpoint
        assert p["kv_cache"] / MiB == pytest.approx(r["KV"], abs=0.01), endpoint
        # the whole device within the planner's target, max(2 %, 128 MiB)
        total = r["model"] + r["KV"] + r["compute"]
        assert abs(p["total"] / MiB - total) <= max(0.02 * total, 128), endpoint
