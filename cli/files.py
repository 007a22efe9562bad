"""`llamadeck files REPO`: every GGUF file of a Hub repo, whether it runs here, how fast, with what context.

The headless twin of the Discover screen's file table: core.discover.files
lists the repo at one commit, core.discover.evaluate reads each file's
header by HTTP ranges (or from the cache) and plans it on this machine, or
on the one --gpu/--ram describe. Nothing is downloaded but headers, unless
--download QUANT fetches that file (every part of a split one) into the first
gguf_dirs folder: the Discover screen's `d`, the same download-only job
(core.pipeline.gguf_download), its progress drawn as `llamadeck convert` draws a job.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TextIO

from cli.args import add_machine_arguments, machine_from_args
from core.config import Settings
from core.discover.evaluate import evaluate_repo
from core.discover.files import list_files
from core.discover.modelscope import list_modelscope_files
from core.discover.report import FILE_COLUMNS, file_cells, file_lines, repo_fit_json
from core.discover.types import RepoFit, RepoListing
from core.errors import DiscoverError, PlannerError
from core.ollama.format import table
from core.planner.report import KV_TYPES, machine_summary, parse_ctx_or_auto
from core.units import format_bytes, format_ctx, plural

SOURCES = ("hf", "modelscope")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "files", help="the GGUF files of a Hub repo: which fit this machine, how fast, with what context",
        description="List a Hugging Face repo's GGUF files (HF_ENDPOINT: a mirror; --source modelscope for "
                    "ModelScope), read each file's header by HTTP ranges without downloading it, and plan it "
                    "on this machine or the one --gpu/--ram describe. Headers are cached. Sizes in --json "
                    "are bytes.",
    )
    parser.add_argument("repo", metavar="REPO", help="owner/name, e.g. bartowski/Qwen2.5-7B-Instruct-GGUF")
    parser.add_argument("--revision", metavar="R", help="a branch, tag or commit (default: main)")
    parser.add_argument("--ctx", type=_ctx, default=8192, metavar="N",
                        help="context in tokens: 8192 or 32k (default 8k), or auto (llama.cpp's fit picks)")
    parser.add_argument("--kv-type", choices=KV_TYPES, default="f16", help="KV cache type (default f16)")
    parser.add_argument("--source", choices=SOURCES, default="hf",
                        help="where the repo is: the Hugging Face Hub (default) or ModelScope")
    add_machine_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--download", metavar="QUANT",
                        help="download the file of this quant (or this file name), every part of a split "
                             "one, into the first gguf_dirs folder instead of planning; run again to resume")
    parser.set_defaults(func=main)


def _ctx(text: str) -> int | None:
    try:
        return parse_ctx_or_auto(text)
    except PlannerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(args: argparse.Namespace, settings: Settings) -> int:
    return run(args, settings, out=sys.stdout)


def run(args: argparse.Namespace, settings: Settings, *, out: TextIO) -> int:
    """Exit 0 when at least one file has a verdict; 1 when none could be planned (the notes say why)."""
    if args.source == "modelscope":
        listing = list_modelscope_files(args.repo, revision=args.revision)
    else:
        listing = list_files(args.repo, revision=args.revision)
    if args.download:
        return download(listing, args.download, settings)
    machine = machine_from_args(args, settings)
    result = evaluate_repo(listing, machine, ctx=args.ctx, kv_type=args.kv_type)
    if args.json:
        print(json.dumps(repo_fit_json(result), indent=2), file=out)
    else:
        out.write(render(result))
    return 0 if any(f.row is not None for f in result.fits) else 1


def render(result: RepoFit) -> str:
    listing = result.listing
    gguf = plural(len(listing.groups), "GGUF file")
    lines = [
        f"{listing.repo_id} at {listing.revision[:12]} on {listing.endpoint}: {gguf}, "
        f"{plural(listing.other_files, 'other file')}" + (" (gated)" if listing.gated else ""),
        "Machine: " + machine_summary(result.machine, format_bytes),
        f"Context {format_ctx(result.ctx) if result.ctx else 'auto (llama.cpp fit)'}, KV cache "
        f"{result.kv_type}, llama-server; speeds are estimates.",
        "",
        table(FILE_COLUMNS, [file_cells(f, format_bytes) for f in result.fits], gap=2),
    ]
    notes = [line for f in result.fits for line in file_lines(f)]
    if notes:
        lines += ["", "Notes:", *(f"  - {n}" for n in notes)]
    cached = sum(1 for f in result.fits if f.read.cached and f.row is not None)
    lines += ["", f"Headers: {plural(result.requests, 'range request')}, {format_bytes(result.bytes_read)} "
                  f"read, {plural(cached, 'file')} from the cache."]
    return "\n".join(lines) + "\n"


def download(listing: RepoListing, wanted: str, settings: Settings) -> int:
    """Fetch the file `wanted` names as a download-only job; 0 when it is there and checked."""
    from cli.convert import ConvertDisplay, JobLogFile, run  # here: the pipeline loads only for a download
    from core.pipeline.gguf_download import download_spec, job_for

    if listing.source != "hf":
        raise DiscoverError("--download fetches from the Hugging Face Hub (or its HF_ENDPOINT mirror) only.")
    key = wanted.strip().upper()
    found = [g for g in listing.groups if (g.quant or "").upper() == key or g.name == wanted.strip()]
    if not found:
        names = ", ".join(g.quant or g.name for g in listing.models)
        raise DiscoverError(f"{listing.repo_id} has no {wanted} file.", hint=f"Its model files: {names}.")
    group = min(found, key=lambda g: not g.is_model)  # a model before a projector of the same type
    spec = download_spec(settings, listing.repo_id, listing.revision, tuple(p.path for p in group.parts),
                         group.quant)
    job = job_for(spec, settings)
    status = asyncio.run(run(job, ConvertDisplay(sys.stderr, log=JobLogFile.open_for(job.id))))
    return {"succeeded": 0, "cancelled": 130}.get(status, 1)
