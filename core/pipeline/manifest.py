"""What made each file a job writes, recorded beside it, so a rerun skips only its own work.

A converted or quantized GGUF gets `<file>.llamadeck.json`: the identity of the
source it came from (file names, sizes and content fingerprints), the tool that
wrote it, and the arguments. The recipe is hashed; a stage is skipped only when
the file's record has this job's recipe and the file is still the one recorded
(same size and modification time). File type and size alone cannot tell two
fine-tunes of one base model apart, and that is how a second model once got the
first one's Q4_K_M imported under its name.

Names: outputs keep the plain name users expect ("Qwen2.5-7B-Q4_K_M.gguf") when it
is free or holds an output of the same source; when it holds something else (another
checkpoint's output, or a file llamadeck did not make), the output gets the source's
short hash ("Qwen2.5-7B-3f2a9c1e07b4-Q4_K_M.gguf") instead of overwriting it. The
hash stays out of the common case so names stay readable and the model browser
lists what the user asked for.

Fingerprints: small files (config, tokenizer) are hashed whole. A Hub cache file is
a link to a blob named by its content hash, which is used as it is. Other weight
files are identified by size, modification time and a hash of three 1 MiB samples
(start, middle, end): a checkpoint written anew has a new time, and the samples tell
two apart even when they were written in the same clock tick; hashing whole 15 GB
checkpoints on every run would cost more than the check saves. A file copied without
its times (`cp -r`) therefore counts as a new source: it is converted again, never
mistaken for another.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import PipelineError
from core.pipeline.stages import gguf_problem

MANIFEST_SUFFIX = ".llamadeck.json"
MANIFEST_VERSION = 1
SAMPLE = 1 << 20
WHOLE_HASH_LIMIT = 8 << 20  # files up to this size are hashed whole
SHORT_HASH = 12
# What a checkpoint folder holds that the converter reads: config, tokenizer, weights.
_SOURCE_SUFFIXES = frozenset({".json", ".safetensors", ".bin", ".pt", ".pth", ".model", ".txt", ".tiktoken",
                              ".jinja", ".py"})

Identity = dict[str, Any]


def manifest_path(output: Path) -> Path:
    return output.with_name(output.name + MANIFEST_SUFFIX)


# --------------------------------------------------------------------------- fingerprints


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _sampled_hash(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for offset in (0, max(0, size // 2 - SAMPLE // 2), max(0, size - SAMPLE)):
            fh.seek(offset)
            h.update(fh.read(SAMPLE))
    return h.hexdigest()


def _hub_blob(path: Path) -> str | None:
    """The content hash a Hugging Face cache snapshot's link points at, if it is one."""
    if not path.is_symlink():
        return None
    target = path.resolve()
    if target.parent.name == "blobs" and len(target.name) >= 40:
        return target.name
    return None


def file_identity(path: Path) -> Identity:
    """Name, size and a content fingerprint of one file."""
    st = path.stat()
    ident: Identity = {"name": path.name, "size": st.st_size}
    blob = _hub_blob(path)
    if blob is not None:
        ident["blob"] = blob
    elif st.st_size <= WHOLE_HASH_LIMIT:
        ident["sha256"] = _hash_file(path)
    else:
        ident["mtime_ns"] = st.st_mtime_ns
        ident["sampled_sha256"] = _sampled_hash(path, st.st_size)
    return ident


def checkpoint_files(folder: Path) -> list[Path]:
    """The files of a checkpoint folder that go into its identity (not READMEs, not our outputs)."""
    files = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith(".") or p.name.endswith(MANIFEST_SUFFIX):
            continue
        if p.suffix.lower() in _SOURCE_SUFFIXES:
            files.append(p)
    return files


def source_identity(paths: Sequence[Path]) -> list[Identity]:
    return [file_identity(p) for p in paths]


def digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def converter_identity(script: Path | None) -> Identity:
    """The converter's code: the script, its model package (newer llama.cpp), the gguf-py it writes with."""
    if script is None or not script.is_file():
        return {"script": None}
    files = [script]
    for package in (script.parent / "conversion", script.parent / "gguf-py" / "gguf"):
        if package.is_dir():
            files += sorted(package.glob("*.py"))
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return {"code_sha256": h.hexdigest()}


def quantize_identity(binary: Path | None) -> Identity:
    """llama-quantize and the libraries beside it (a shared build), by size and modification time."""
    if binary is None or not binary.exists():
        return {"binary": None}
    files = [binary, *sorted(binary.parent.glob("lib*.so*"))]
    stamps = []
    for f in files:
        with contextlib.suppress(OSError):
            st = f.stat()
            stamps.append([f.name, st.st_size, st.st_mtime_ns])
    return {"files_sha256": digest(stamps)}


# --------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Recipe:
    """What one output is made from and how; `key` is its digest."""

    stage: str  # "convert" | "quantize"
    source_key: str  # the digest of the original source's identity (names the output on a collision)
    inputs: Identity  # all of it must match for a skip
    notes: Identity = field(default_factory=dict)  # recorded for people, not matched

    @property
    def key(self) -> str:
        return digest({"stage": self.stage, **self.inputs})


def convert_recipe(source_files: Sequence[Path], outtype: str, script: Path | None,
                   python: Path | None) -> Recipe:
    ident = source_identity(source_files)
    # Paths are recorded but not matched: the same converter code in another place writes the same file.
    return Recipe("convert", digest(ident),
                  {"source": ident, "outtype": outtype, "converter": converter_identity(script)},
                  {"script": str(script) if script is not None else None,
                   "python": str(python) if python is not None else None})


def quantize_recipe(source_key: str, input_ident: Identity, quant: str, *, imatrix: Path | None,
                    allow_requantize: bool, binary: Path | None) -> Recipe:
    return Recipe("quantize", source_key, {
        "input": input_ident,
        "quant": quant,
        "imatrix": file_identity(imatrix) if imatrix is not None and imatrix.is_file() else None,
        "allow_requantize": allow_requantize,
        "quantizer": quantize_identity(binary),
    }, {"binary": str(binary) if binary is not None else None})


# --------------------------------------------------------------------------- records


def read_manifest(output: Path) -> dict[str, Any] | None:
    """The record beside `output`; None when there is none or it is not one this version wrote
    (a damaged or hand-edited record counts as no record: the file is then not reused)."""
    try:
        data = json.loads(manifest_path(output).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("llamadeck_manifest") != MANIFEST_VERSION:
        return None
    if not isinstance(data.get("output"), dict) or not isinstance(data.get("imported", []), list):
        return None
    return data


def write_manifest(output: Path, recipe: Recipe, job_id: str, *, written: Path | None = None) -> None:
    """Record what made `output`, with its size and modification time.

    `written` is the finished file still under its temporary name, about to be renamed to
    `output` (the rename keeps both), so no finished output is ever without its record.
    """
    st = (written or output).stat()
    record = {
        "llamadeck_manifest": MANIFEST_VERSION,
        "stage": recipe.stage,
        "recipe_key": recipe.key,
        "source_key": recipe.source_key,
        "output": {"name": output.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns},
        "job": job_id,
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "recipe": recipe.inputs,
        "notes": recipe.notes,
    }
    _write_record(manifest_path(output), record)


def _write_record(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def record_import(output: Path, url: str, name: str, digest: str) -> None:
    """Add an Ollama import of `output` to its record (no record, nothing to add to: a user's own GGUF)."""
    record = read_manifest(output)
    if record is None:
        return
    imports = [i for i in record.get("imported", []) if isinstance(i, dict)
               and (i.get("url"), i.get("name")) != (url, name)]
    record["imported"] = [*imports, {"url": url, "name": name, "digest": digest}]
    _write_record(manifest_path(output), record)


def imported_as(output: Path) -> set[tuple[str, str]]:
    """(Ollama URL, model name) pairs this output was imported as, by its record."""
    record = read_manifest(output)
    if record is None:
        return set()
    imports = [i for i in record.get("imported", []) if isinstance(i, dict)]
    return {(str(i.get("url")), str(i.get("name"))) for i in imports}


def mismatch(output: Path, recipe: Recipe) -> str | None:
    """Why `output` is not this recipe's finished file, or None when it is."""
    if not output.exists():
        return f"{output.name} does not exist yet"
    record = read_manifest(output)
    if record is None:
        return f"{output.name} has no record of what made it ({manifest_path(output).name})"
    recorded = record.get("output") or {}
    st = output.stat()
    if recorded.get("size") != st.st_size or recorded.get("mtime_ns") != st.st_mtime_ns:
        return f"{output.name} changed after it was written"
    if record.get("source_key") != recipe.source_key:
        return f"{output.name} was made from a different source"
    if record.get("recipe_key") != recipe.key:
        return f"{output.name} was made from this source with other tools or settings"
    return None


def problem(output: Path, recipe: Recipe, file_type: str | None) -> str | None:
    """Why `output` cannot be skipped: not this recipe's, or not a complete GGUF of its type."""
    return mismatch(output, recipe) or gguf_problem(output, file_type=file_type)


def _same_source(output: Path, recipe: Recipe) -> bool:
    record = read_manifest(output)
    return record is not None and record.get("source_key") == recipe.source_key


def hashed_name(plain: Path, source_key: str) -> Path:
    """`Model-Q4_K_M.gguf` -> `Model-<hash>-Q4_K_M.gguf`."""
    stem, _, kind = plain.stem.rpartition("-")
    return plain.with_name(f"{stem}-{source_key[:SHORT_HASH]}-{kind}{plain.suffix}")


def place(plain: Path, recipe: Recipe) -> Path:
    """Where this recipe's output goes: the plain name unless another source's file holds it.

    A file of the same source under either name is reused (and, if its recipe differs,
    rewritten in place); a free plain name is taken; otherwise the hashed name.
    """
    alt = hashed_name(plain, recipe.source_key)
    for candidate in (plain, alt):
        if candidate.exists() and _same_source(candidate, recipe):
            return candidate
    if not plain.exists():
        return plain
    if alt.exists():
        raise PipelineError(f"Both {plain.name} and {alt.name} exist in {plain.parent} and neither was made "
                            "from this source; move one of them away or choose another --out folder.")
    return alt
