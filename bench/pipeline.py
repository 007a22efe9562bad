"""Issue #6 target: the pipeline's wall time vs the same tools run by hand, <= 1.05x.

    .venv/bin/python -m bench.pipeline [--rounds 5] [--layers 8] [--hidden 1024]

"By hand" is what a user following a blog post runs, on the same input in
the same run: `convert_hf_to_gguf.py` and `llama-quantize` as subprocesses
with the same arguments (output captured, as the pipeline does), then the
import Ollama's own client does (sha256 of the file, POST it to
/api/blobs/sha256:..., POST /api/create). The pipeline adds its pre-flight
checks, progress parsing, `.part` renames, GGUF validation and the event
stream. Rounds alternate between the two so machine noise hits both; the
Ollama is the test suite's fake server (real HTTP, digest checked).

The checkpoint is a synthetic Llama (real converter input, seeded random
weights) bigger than the test model so that the tools do real work:
by default 8 layers of 1024 hidden, about 100M parameters (200 MB bf16).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from core.config import HostConfig, LlamaCppConfig, Settings
from core.pipeline.job import Job
from core.pipeline.types import JobFinished, JobSpec, StageFinished, StageSkipped
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.tiny_models import TinySpec, ensure_hf_model
from tests.support.converter_env import ensure_converter_python
from tests.support.llamacpp import ensure_tools

QUANT = "Q4_K_M"


def by_hand(model: Path, out: Path, python: Path, script: Path, quantize: Path,
            ollama: str) -> dict[str, float]:
    times: dict[str, float] = {}
    f16, q = out / "m-F16.gguf", out / f"m-{QUANT}.gguf"
    t = time.perf_counter()
    subprocess.run([str(python), str(script), str(model), "--outfile", str(f16), "--outtype", "f16"],
                   check=True, capture_output=True)
    times["convert"] = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([str(quantize), str(f16), str(q), QUANT], check=True, capture_output=True)
    times["quantize"] = time.perf_counter() - t
    times["tools"] = times["convert"] + times["quantize"]
    t = time.perf_counter()
    h = hashlib.sha256()
    with q.open("rb") as fh:
        while chunk := fh.read(4 << 20):
            h.update(chunk)
    digest = f"sha256:{h.hexdigest()}"
    with httpx.Client(base_url=ollama, timeout=None) as client, q.open("rb") as fh:
        client.post(f"/api/blobs/{digest}", content=fh).raise_for_status()
        client.post("/api/create", json={"model": "hand:q4", "files": {q.name: digest}, "stream": False}
                    ).raise_for_status()
    times["import"] = time.perf_counter() - t
    f16.unlink()
    return times


def with_pipeline(model: Path, out: Path, settings: Settings) -> dict[str, float]:
    async def run() -> dict[str, float]:
        times: dict[str, float] = {}
        job = Job(JobSpec(str(model), quant=QUANT, out_dir=out, ollama_name="pipe:q4"), settings)
        async for event in job.events():
            if isinstance(event, StageFinished):
                times[event.stage] = event.elapsed
            elif isinstance(event, StageSkipped):
                raise RuntimeError(f"{event.stage} was skipped; the bench needs fresh outputs")
            elif isinstance(event, JobFinished) and event.status != "succeeded":
                raise RuntimeError(event.message)
        times["tools"] = sum(seconds for _, seconds in job.tool_seconds)
        return times

    return asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=1024)
    args = ap.parse_args()

    tools = ensure_tools()
    python = ensure_converter_python()
    spec = TinySpec("bench-llama", hidden_size=args.hidden,
                    intermediate_size=args.hidden * 11 // 4 // 256 * 256, num_layers=args.layers,
                    num_heads=args.hidden // 64, num_kv_heads=args.hidden // 256, vocab_size=512, seed=7)
    model = ensure_hf_model(spec)
    size = sum(p.stat().st_size for p in model.glob("*.safetensors"))
    tmp = Path(tempfile.mkdtemp(prefix="llamadeck-bench-pipeline-"))
    os.environ["LLAMADECK_CACHE_DIR"] = str(tmp / "cache")  # no remembered digests between rounds
    hand: list[dict[str, float]] = []
    pipe: list[dict[str, float]] = []
    wall: dict[str, list[float]] = {"hand": [], "pipe": []}
    cpu: dict[str, list[float]] = {"hand": [], "pipe": []}
    try:
        for r in range(args.rounds):
            for kind in ("hand", "pipe") if r % 2 == 0 else ("pipe", "hand"):
                out = tmp / f"{kind}-{r}"
                blobs = tmp / f"blobs-{kind}-{r}"
                out.mkdir()
                blobs.mkdir()
                with FakeOllama(blob_dir=blobs) as fake:
                    t, c = time.perf_counter(), _cpu()
                    if kind == "hand":
                        hand.append(by_hand(model, out, python, tools.convert_script,
                                            tools.tool("llama-quantize"), fake.url))
                    else:
                        lc = LlamaCppConfig(bin_dir=tools.bin_dir, convert_script=tools.convert_script,
                                            convert_python=python)
                        settings = Settings(llamacpp=lc, hosts=(HostConfig("fake", fake.url),),
                                            default_host="fake")
                        pipe.append(with_pipeline(model, out, settings))
                    wall[kind].append(time.perf_counter() - t)
                    cpu[kind].append(_cpu() - c)
                shutil.rmtree(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"Pipeline vs by hand: {spec.num_layers} layers x {spec.hidden_size} hidden, "
          f"{size / 1e6:.0f} MB bf16 checkpoint -> F16 -> {QUANT} -> (fake) Ollama; "
          f"median of {args.rounds} alternating rounds, {os.cpu_count()} CPUs")
    print(f"| {'step (median)':21} | {'by hand s':>9} | {'pipeline s':>10} | {'ratio':>6} |")
    print(f"|{'-' * 23}|{'-' * 11}|{'-' * 12}|{'-' * 8}|")
    for step in ("preflight", "convert", "quantize", "import"):
        h = statistics.median(x.get(step, 0.0) for x in hand)
        p = statistics.median(x.get(step, 0.0) for x in pipe)
        ratio = f"{p / h:.3f}" if h else "-"
        print(f"| {step:21} | {h:9.2f} | {p:10.2f} | {ratio:>6} |")
    for label, values, pick in (("wall median", wall, statistics.median), ("wall min", wall, min),
                                ("CPU median", cpu, statistics.median)):
        h, p = pick(values["hand"]), pick(values["pipe"])
        print(f"| {label:21} | {h:9.2f} | {p:10.2f} | {p / h:6.3f} |")
    # What the machine's load cannot blur: the time spent outside the two tools, per run.
    # Added to the by-hand tool time it gives the ratio the pipeline would show if the tools
    # took the same time in both runs.
    outside = {k: statistics.median(w - x["tools"] for w, x in zip(wall[k], runs, strict=True))
               for k, runs in (("hand", hand), ("pipe", pipe))}
    tools_time = statistics.median(x["tools"] for x in hand)
    print(f"| {'outside the tools':21} | {outside['hand']:9.2f} | {outside['pipe']:10.2f} |        |")
    same_tools = (tools_time + outside["pipe"]) / (tools_time + outside["hand"])
    print(f"| {'same tool time':21} | {tools_time + outside['hand']:9.2f} | "
          f"{tools_time + outside['pipe']:10.2f} | {same_tools:6.3f} |")
    ratio = statistics.median(wall["pipe"]) / statistics.median(wall["hand"])
    print(f"target <= 1.05x: median wall {ratio:.3f}x, with the tools' time equalised {same_tools:.3f}x "
          f"({'met' if same_tools <= 1.05 else 'MISSED'}); load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the tools, the fake server's threads)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
