"""`llamadeck search QUERY`: GGUF repos on the Hub, and with --ctx whether each one's best file fits here.

The headless twin of the Discover screen's search box: one page of results
from core.discover.search (HF_ENDPOINT and HF_TOKEN as huggingface_hub reads
them), the next page by the cursor it prints. With --ctx, each repo's most
promising file is read by ranges and planned on this machine (or --gpu/--ram)
by core.discover.best_fit: one file list and one header per repo.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from cli.args import add_machine_arguments, machine_from_args
from core.config import Settings
from core.discover.best_fit import best_fits
from core.discover.report import SEARCH_COLUMNS, fit_cell, search_cells, search_json
from core.discover.search import search_models
from core.discover.types import SORTS, FileFit, SearchPage
from core.errors import PlannerError
from core.ollama.format import table
from core.planner.report import KV_TYPES, parse_ctx_or_auto, where
from core.units import format_ctx


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "search", help="search the Hugging Face Hub for GGUF models, and whether they fit this machine",
        description="Search the Hugging Face Hub (HF_ENDPOINT: a mirror) for repos with GGUF files. With "
                    "--ctx, each repo's largest file that could fit is read by ranges (its header only) and "
                    "planned on this machine or the one --gpu/--ram describe. Sizes in --json are bytes.",
    )
    parser.add_argument("query", metavar="QUERY", nargs="?", default="", help="words in the repo's name")
    parser.add_argument("--sort", choices=SORTS, default="downloads", help="order (default downloads)")
    parser.add_argument("--limit", type=int, default=20, metavar="N", help="results a page (default 20)")
    parser.add_argument("--author", metavar="A", help="only repos of this user or organisation")
    parser.add_argument("--cursor", metavar="URL", help="the next page, as the previous page printed it")
    parser.add_argument("--ctx", metavar="N",
                        help="plan each repo's best file at this context (8192, 32k or auto) on this machine")
    parser.add_argument("--kv-type", choices=KV_TYPES, default="f16", help="KV cache type (default f16)")
    add_machine_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace, settings: Settings) -> int:
    return run(args, settings, out=sys.stdout)


def run(args: argparse.Namespace, settings: Settings, *, out: TextIO) -> int:
    ctx = _ctx(args.ctx)
    page = search_models(args.query, sort=args.sort, limit=args.limit, author=args.author, cursor=args.cursor)
    fits: dict[str, FileFit | str] = {}
    if args.ctx is not None and page.results:
        machine = machine_from_args(args, settings)
        fits = best_fits([s.repo_id for s in page.results], machine, ctx=ctx, kv_type=args.kv_type)
    if args.json:
        data = search_json(page)
        if args.ctx is not None:
            for item, s in zip(data["results"], page.results, strict=True):
                item["best_file"] = _fit_json(fits.get(s.repo_id))
        print(json.dumps(data, indent=2), file=out)
        return 0
    out.write(render(page, args, fits, ctx))
    return 0


def _ctx(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_ctx_or_auto(text)
    except PlannerError as exc:
        raise PlannerError(f"--ctx: {exc}") from None


def _fit_json(fit: FileFit | str | None) -> dict[str, object] | None:
    if fit is None:
        return None
    if isinstance(fit, str):
        return {"error": fit}
    row = fit.row
    return {"name": fit.group.name, "quant": fit.quant, "size": fit.group.size, "badge": fit.badge,
            "runs_on": where(row) if row else None, "decode_tps": fit.decode_tps,
            "max_ctx_on_gpu": fit.max_ctx_on_gpu, "error": fit.error}


def render(page: SearchPage, args: argparse.Namespace, fits: dict[str, FileFit | str],
           ctx: int | None) -> str:
    words = f" matching {args.query!r}" if args.query else ""
    by = f", by {args.sort}" + (f", by {args.author}" if args.author else "")
    lines = [f"GGUF repos on {page.endpoint}{words}{by}:", ""]
    if not page.results:
        return "\n".join([*lines, "None found."]) + "\n"
    header = list(SEARCH_COLUMNS)
    rows = [search_cells(s) for s in page.results]
    if args.ctx is not None:
        header.append(f"Best file here ({format_ctx(ctx) if ctx else 'auto'} ctx, KV {args.kv_type})")
        rows = [[*r, fit_cell(fits.get(s.repo_id))] for r, s in zip(rows, page.results, strict=True)]
    lines.append(table(header, rows, gap=2))
    notes = [f"  - {s.repo_id}: {why}" for s in page.results if isinstance(why := fits.get(s.repo_id), str)]
    notes += [f"  - {s.repo_id}: {fit.error}" for s in page.results
              if isinstance(fit := fits.get(s.repo_id), FileFit) and fit.error]
    if notes:
        lines += ["", "Notes:", *notes]
    if page.next_cursor:
        lines += ["", f"Next page: llamadeck search --cursor '{page.next_cursor}'"]
    return "\n".join(lines) + "\n"
