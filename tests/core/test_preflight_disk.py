"""The disk pre-flight: each stage's peak from what it really writes, shown as parts that add up.

The checkpoint is a real tiny F32 one (the converter writes its F16 at half its size); the
free space is the one input faked (a 40 MiB filesystem cannot be made without root).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from core.config import HostConfig, Settings
from core.facts.gguf import facts_from_hf_dir
from core.pipeline import preflight
from core.pipeline.checks import run_preflight
from core.pipeline.disk import converted_size, disk_writes
from core.pipeline.plan import make_plan
from core.pipeline.preflight import DiskWrite, check_disk, disk_margin, disk_needs
from core.pipeline.sources import resolve_source
from core.pipeline.tools import ToolPaths
from core.pipeline.types import DiskNeed, JobSpec, PreflightCheck
from core.units import format_bytes_tenths, format_parts
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.tiny_models import TINY_LLAMA, ensure_hf_model

MiB = 1 << 20
NO_TOOLS = ToolPaths(None, None, None)  # their checks fail; the disk check is what is looked at here
_SIZE = re.compile(r"(\d+\.\d) MiB")


@pytest.fixture
def f32_checkpoint(tmp_path: Path) -> Path:
    dest = tmp_path / "ckpt" / "tiny-llama"
    shutil.copytree(ensure_hf_model(replace(TINY_LLAMA, torch_dtype="float32")), dest)
    return dest


@pytest.fixture
def forty_mib(monkeypatch: pytest.MonkeyPatch) -> None:
    real = preflight.disk_info

    def small(label: str, path: Path):  # type: ignore[no-untyped-def]
        info, notice = real(label, path)
        return replace(info, free=40 * MiB), notice

    monkeypatch.setattr(preflight, "disk_info", small)


def _settings(tmp_path: Path, fake_ollama: FakeOllama) -> Settings:
    # Everything on the test's own filesystem: the output, the Hub cache and Ollama's blobs.
    return Settings(hosts=(HostConfig(name="fake", url=fake_ollama.url),), default_host="fake",
                    ollama_models_dir=tmp_path / "ollama", hf_cache_dir=tmp_path / "hf")


def _disk(checks: tuple[PreflightCheck, ...]) -> PreflightCheck:
    (check,) = [c for c in checks if c.name == "disk"]
    return check


def _shown_parts_add_up(message: str) -> None:
    inside = message[message.index("(") + 1:]
    numbers = [float(n) for n in _SIZE.findall(inside.split(" = ")[0])]
    shown_total = float(_SIZE.findall(inside.split(" = ")[1])[0])
    assert numbers and round(sum(numbers), 1) == shown_total, message


async def test_an_f32_checkpoint_fits_a_40_mib_filesystem(f32_checkpoint: Path, tmp_path: Path,
                                                         fake_ollama: FakeOllama, forty_mib: None) -> None:
    settings = _settings(tmp_path, fake_ollama)
    spec = JobSpec(str(f32_checkpoint), quant="Q4_K_M", out_dir=tmp_path / "out")
    source = resolve_source(spec.source)
    facts = facts_from_hf_dir(f32_checkpoint)
    assert facts.file_type == "F32"
    plan = make_plan(spec, settings, source, facts=facts)
    report = await run_preflight(plan, spec, settings, NO_TOOLS, facts)

    check = _disk(report.checks)
    assert check.status == "ok", check.message
    (need,) = report.disk
    parts = dict(need.parts)
    # The F16 is parameters x 2 bytes (norms stay F32) plus the header: not the checkpoint's F32 size.
    f16 = parts["F16 GGUF"]
    assert facts.n_params * 2 < f16 < facts.n_params * 2 + MiB
    assert f16 == converted_size(facts, "f16")
    # The peak: F16 and Q4_K_M while quantizing; the F16 is deleted before Ollama's copy is made.
    assert set(parts) == {"F16 GGUF", "Q4_K_M GGUF", "margin"}
    assert sum(need.parts[i][1] for i in range(len(need.parts))) == need.need
    assert 9 * MiB < need.need < 11 * MiB
    assert "deleted before the peak" not in need.note  # the peak is the quantize stage, with the F16 there
    assert " = " in check.message
    _shown_parts_add_up(check.message)


async def test_the_blob_copy_is_the_size_of_the_file_imported(f32_checkpoint: Path, tmp_path: Path,
                                                             fake_ollama: FakeOllama) -> None:
    """A finished quantized file (the F16 gone) is imported as it is: the blob is its size, not the F16's."""
    settings = _settings(tmp_path, fake_ollama)
    out = tmp_path / "out"
    spec = JobSpec(str(f32_checkpoint), quant="Q4_K_M", out_dir=out)
    facts = facts_from_hf_dir(f32_checkpoint)
    plan = make_plan(spec, settings, resolve_source(spec.source), facts=facts)
    out.mkdir()
    plan.final.write_bytes(b"\0" * 123456)  # only its size matters to the estimate

    writes = disk_writes(plan, settings, facts, 0, frozenset({plan.final}), blob=True)
    assert [(w.what, w.size) for w in writes] == [("Ollama blob copy", 123456)]


def test_a_deleted_intermediate_does_not_count_after_its_stage(tmp_path: Path) -> None:
    a, b = tmp_path / "out", tmp_path / "blobs"
    (need,) = disk_needs([DiskWrite("F16 GGUF", a, 10 * MiB, "convert", removed_after="quantize"),
                          DiskWrite("Q4_K_M GGUF", a, 3 * MiB, "quantize"),
                          DiskWrite("Ollama blob copy", b, 3 * MiB, "import")])
    assert need.need == 13 * MiB + disk_margin(13 * MiB)
    assert [what for what, _ in need.parts] == ["F16 GGUF", "Q4_K_M GGUF", "margin"]
    # A bigger blob makes the import the peak: then the F16 is already gone.
    (need,) = disk_needs([DiskWrite("F16 GGUF", a, 2 * MiB, "convert", removed_after="quantize"),
                          DiskWrite("Q4_K_M GGUF", a, 1 * MiB, "quantize"),
                          DiskWrite("Ollama blob copy", b, 5 * MiB, "import")])
    assert [what for what, _ in need.parts] == ["Q4_K_M GGUF", "Ollama blob copy", "margin"]
    assert need.note == "F16 GGUF deleted before the peak"


def test_writes_on_one_filesystem_add_up(tmp_path: Path) -> None:
    a, b = tmp_path / "out", tmp_path / "not-yet" / "blobs"
    needs = disk_needs([DiskWrite("F16 GGUF", a, 3 << 30, "convert"),
                        DiskWrite("Q4_K_M GGUF", a, 1 << 30, "quantize"),
                        DiskWrite("Ollama blob copy", b, 1 << 30, "import")])
    assert len(needs) == 1
    assert needs[0].need == (5 << 30) + disk_margin(5 << 30)
    assert needs[0].what == ("F16 GGUF 3.0 GiB", "Q4_K_M GGUF 1.0 GiB", "Ollama blob copy 1.0 GiB",
                             "margin 0.1 GiB")
    assert needs[0].free is not None and needs[0].free > 0


@pytest.mark.parametrize("sizes", [(6_340_000, 2_130_000, 590_000), (1, 2, 3), (10 << 30, 1, 5 << 20),
                                   (1_049_000, 1_049_000, 1_049_000)])
def test_shown_parts_always_add_up_to_the_shown_total(sizes: tuple[int, int, int]) -> None:
    parts = tuple(zip("abc", sizes, strict=True))
    total = sum(sizes)
    shown = format_parts(parts, total)
    (check,) = check_disk([DiskNeed("/m", "/", total, 1 << 50, shown, parts)])
    unit = shown[0].split()[-1]
    if unit != "B":
        numbers = [float(s.split()[1]) for s in shown]
        assert round(sum(numbers), 1) == float(format_bytes_tenths(total).split()[0])
    assert check.message.endswith(f"= {format_bytes_tenths(total)}).")


def test_an_output_folder_that_is_a_file_is_refused_before_anything_runs(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    check = preflight.check_out_dir(a_file)
    assert check.failed and "the output folder is a file" in check.message and "--out" in check.message
    check = preflight.check_out_dir(a_file / "models")
    assert check.failed and f"a folder above it ({a_file}) is a file" in check.message
    check = preflight.check_out_dir(tmp_path / "new" / "models")
    assert check.status == "ok" and "(it will be made)" in check.message
