"""Issue #16 targets: a GGUF file's facts in <= 2 range requests and <= 8 MB; a 20-file repo in <= 1.5 s.

    .venv/bin/python -m bench.discover [--runs 5] [--latency 0.1]

Serves hollow GGUFs of real models (the real header and tensor table, a
vocabulary of the real size, a sparse body) from the local Hub stand-in.

1. Per vocabulary size, one file's header read cold (the first file of a
   repo) and as a sibling quant (sized from the first header): requests and
   bytes, beside the header's own size.
2. With `--latency` seconds injected before every answer (the stand-in, in a
   process of its own, waits that long per request, the API calls too), a
   repo of 20 quant files of
   Qwen2.5-7B (152k vocabulary) listed and every file planned for an RTX 4090
   + 64 GB, from an empty header cache: median and worst of `--runs`, and one
   run reading one file at a time for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from multiprocessing import Event, Process, Queue
from pathlib import Path

from bench._report import heading, machine_line, table
from core.discover.evaluate import evaluate_repo
from core.discover.files import list_files
from core.discover.header_cache import HeaderCache
from core.discover.hub import Hub
from core.discover.ranges import RangeReader
from core.discover.remote_header import read_remote_header, sibling_read
from core.discover.types import RemoteFile
from core.facts.gguf import facts_from_gguf
from core.planner.machine import machine_spec
from core.planner.plan import tensor_types
from tests.fakes.fake_hub import FakeHub, HubRepo
from tests.fakes.hollow_gguf import hollow_model

VOCABULARIES = {  # (tokens, merges) as the published GGUFs carry them
    "32k (Mistral 7B)": ("mistral-7b", (32768, 0)),
    "128k (Llama 3.1 8B)": ("llama-3.1-8b", (128256, 280147)),
    "152k (Qwen2.5 72B)": ("qwen2.5-72b", (152064, 151387)),
    "256k (Gemma 3 27B)": ("gemma-3-27b", (262208, 0)),
}
REPO_MODEL, REPO_VOCAB = "qwen2.5-7b", (152064, 151387)
REPO_QUANTS = ("F16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_0",
               "IQ4_XS", "IQ4_NL", "Q3_K_L", "Q3_K_M", "Q3_K_S", "IQ3_M", "IQ3_XXS", "Q2_K", "IQ2_M",
               "IQ2_XXS")
MB = 1_000_000


def _file(hub: FakeHub, repo: HubRepo, path: str) -> RemoteFile:
    url = Hub(hub.url).file_url(repo.repo_id, repo.sha, path)
    return RemoteFile(path, repo.files[path].stat().st_size, url)


def header_reads(hub: FakeHub, folder: Path) -> list[list[object]]:
    rows: list[list[object]] = []
    with RangeReader(Hub(hub.url).headers()) as reader:
        for label, (model, vocabulary) in VOCABULARIES.items():
            path = hollow_model(model, folder, vocabulary=vocabulary)
            repo = hub.add(HubRepo(f"bench/{model}", {path.name: path}))
            cold = read_remote_header(reader, _file(hub, repo, path.name))
            warm = read_remote_header(reader, _file(hub, repo, path.name), first=sibling_read(cold.header))
            rows.append([label, f"{cold.header.data_offset / MB:.2f}", cold.read.requests,
                         f"{cold.read.bytes_read / MB:.2f}", warm.read.requests,
                         f"{warm.read.bytes_read / MB:.2f}"])
    return rows


def quant_repo(folder: Path) -> HubRepo:
    base = hollow_model(REPO_MODEL, folder, vocabulary=REPO_VOCAB)
    facts = facts_from_gguf(base)
    files = {}
    for quant in REPO_QUANTS:
        types = {c.name: c.ggml_type for c in tensor_types(facts, quant)}
        file_type = quant if quant in ("F16", "BF16") else None
        path = base if quant == "F16" else hollow_model(
            REPO_MODEL, folder / quant, vocabulary=REPO_VOCAB, file_type=file_type or "F16",
            quantized=None if file_type else (quant, types))
        files[f"Qwen2.5-7B-Instruct-{quant}.gguf"] = path
    return HubRepo("bench/Qwen2.5-7B-Instruct-GGUF", files)


def serve(repo: HubRepo, latency: float, urls: Queue[str], stop: Event) -> None:
    """The stand-in in a process of its own, as the real Hub is not on this machine's CPUs."""
    with FakeHub(latency=latency) as hub:
        hub.add(repo)
        urls.put(hub.url)
        stop.wait()


def evaluate_once(url: str, repo_id: str, cache_root: Path, workers: int) -> tuple[float, int, int, int]:
    """Seconds to list and plan every file, cold; with the requests and bytes of the headers."""
    cache = HeaderCache(cache_root)
    box = machine_spec(["4090"], ram_gb=64)
    hub_ = Hub(url)
    start = time.perf_counter()
    listing = list_files(repo_id, hub=hub_)
    result = evaluate_repo(listing, box, ctx=8192, hub=hub_, cache=cache, workers=workers)
    took = time.perf_counter() - start
    assert all(f.row is not None for f in result.fits), [f.error for f in result.fits]
    return took, result.requests, result.bytes_read, sum(1 for f in result.fits if f.badge == "fits")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--latency", type=float, default=0.1)
    args = ap.parse_args()
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = False  # the stand-in is local; HF_HUB_OFFLINE may be set for the tests
    print(heading("Issue #16: Discover"))
    print(f"\n{machine_line()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with FakeHub() as hub:
            print(table(["vocabulary", "header MB", "cold requests", "cold MB read", "sibling requests",
                         "sibling MB read"], header_reads(hub, folder / "vocab")))
        repo = quant_repo(folder / "repo")
        urls: Queue[str] = Queue()
        stop = Event()
        server = Process(target=serve, args=(repo, args.latency, urls, stop), daemon=True)
        server.start()
        try:
            url = urls.get(timeout=60)
            runs = [evaluate_once(url, repo.repo_id, folder / f"cache{i}", 8) for i in range(args.runs)]
            serial = evaluate_once(url, repo.repo_id, folder / "cache-serial", 1)
        finally:
            stop.set()
            server.join(timeout=10)
    times = [r[0] for r in runs]
    _, requests, read, fits = runs[0]
    print(f"\n20 files of Qwen2.5-7B (152k vocabulary), {args.latency * 1000:.0f} ms per request, RTX 4090 + "
          f"64 GB, 8k context, empty cache; {requests} header requests, {read / MB:.1f} MB read a run, "
          f"{fits} files fit on the GPU:\n")
    rows = [["8 at a time", len(times), f"{statistics.median(times):.2f}", f"{max(times):.2f}", "<= 1.5 s"],
            ["one at a time", 1, f"{serial[0]:.2f}", f"{serial[0]:.2f}", ""]]
    print(table(["reads", "runs", "median s", "worst s", "target"], rows))


if __name__ == "__main__":
    main()
