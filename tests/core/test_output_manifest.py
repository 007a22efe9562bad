"""Output records and names: a file is reused only by the source and recipe that made it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import PipelineError
from core.pipeline.manifest import (
    WHOLE_HASH_LIMIT,
    Recipe,
    checkpoint_files,
    convert_recipe,
    file_identity,
    hashed_name,
    manifest_path,
    mismatch,
    place,
    write_manifest,
)


def _checkpoint(folder: Path, weights: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    (folder / "model.safetensors").write_bytes(weights)
    (folder / "README.md").write_text("a model card")
    return folder


def _recipe(folder: Path, outtype: str = "f16") -> Recipe:
    return convert_recipe(checkpoint_files(folder), outtype, None, None)


def test_the_identity_leaves_out_readmes_and_our_own_outputs(tmp_path: Path) -> None:
    folder = _checkpoint(tmp_path / "m", b"w" * 100)
    (folder / "m-F16.gguf").write_bytes(b"GGUF")
    (folder / "m-F16.gguf.llamadeck.json").write_text("{}")
    assert [p.name for p in checkpoint_files(folder)] == ["config.json", "model.safetensors"]


def test_fingerprints_small_big_and_hub_cache_files(tmp_path: Path) -> None:
    small = tmp_path / "config.json"
    small.write_text("{}")
    assert set(file_identity(small)) == {"name", "size", "sha256"}
    big = tmp_path / "model.safetensors"
    with big.open("wb") as fh:
        fh.truncate(WHOLE_HASH_LIMIT + 1)
    assert set(file_identity(big)) == {"name", "size", "mtime_ns", "sampled_sha256"}
    blob = tmp_path / "blobs" / ("ab" * 32)
    blob.parent.mkdir()
    blob.write_bytes(b"weights")
    link = tmp_path / "snapshots" / "rev" / "model.safetensors"
    link.parent.mkdir(parents=True)
    link.symlink_to(blob)
    assert file_identity(link) == {"name": "model.safetensors", "size": 7, "blob": "ab" * 32}


def test_a_different_checkpoint_of_the_same_name_and_size_is_another_source(tmp_path: Path) -> None:
    one = _recipe(_checkpoint(tmp_path / "a" / "m", b"1" * 100))
    two = _recipe(_checkpoint(tmp_path / "b" / "m", b"2" * 100))
    assert one.source_key != two.source_key and one.key != two.key
    assert _recipe(tmp_path / "a" / "m").key == one.key  # stable
    assert _recipe(tmp_path / "a" / "m", "bf16").source_key == one.source_key  # same source, other recipe


def test_a_record_matches_only_its_recipe_and_an_unchanged_file(tmp_path: Path) -> None:
    recipe = _recipe(_checkpoint(tmp_path / "m", b"1" * 100))
    out = tmp_path / "out" / "m-F16.gguf"
    out.parent.mkdir()
    out.write_bytes(b"GGUF data")
    assert "no record" in (mismatch(out, recipe) or "")
    write_manifest(out, recipe, "job1")
    assert mismatch(out, recipe) is None
    assert "different source" in (mismatch(out, _recipe(_checkpoint(tmp_path / "n", b"2" * 100))) or "")
    assert "other tools or settings" in (mismatch(out, _recipe(tmp_path / "m", "bf16")) or "")
    st = out.stat()
    os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert "changed after it was written" in (mismatch(out, recipe) or "")


def test_names_stay_plain_unless_another_sources_file_holds_them(tmp_path: Path) -> None:
    mine = _recipe(_checkpoint(tmp_path / "a" / "m", b"1" * 100))
    theirs = _recipe(_checkpoint(tmp_path / "b" / "m", b"2" * 100))
    plain = tmp_path / "out" / "m-Q4_K_M.gguf"
    plain.parent.mkdir()
    assert place(plain, mine) == plain  # free
    plain.write_bytes(b"a file llamadeck did not make")
    alt = place(plain, mine)
    assert alt == hashed_name(plain, mine.source_key) and alt.name == f"m-{mine.source_key[:12]}-Q4_K_M.gguf"
    write_manifest(plain, theirs, "job0")
    assert place(plain, mine) == alt  # another source's
    assert place(plain, theirs) == plain  # its own
    alt.write_bytes(b"mine")
    write_manifest(alt, mine, "job1")
    assert place(plain, mine) == alt  # found again under its hashed name
    manifest_path(alt).unlink()
    with pytest.raises(PipelineError, match="neither was made from this source"):
        place(plain, mine)


def test_the_record_is_written_before_the_file_takes_its_name(tmp_path: Path) -> None:
    """A crash between the two can leave a record without its file (harmless: it does not match),
    never a finished file without its record (which a rerun would have to treat as a stranger's)."""
    from core.pipeline.stages import _finish, part_path
    from tests.fakes.gguf_files import write_gguf

    recipe = _recipe(_checkpoint(tmp_path / "m", b"1" * 100))
    final = tmp_path / "out" / "m-F16.gguf"
    final.parent.mkdir()
    part = write_gguf(part_path(final), "llama", {"general.file_type": 1}, [("a", (32, 2), "F16")])
    seen: list[bool] = []

    def record(written: Path) -> None:
        seen.append(final.exists())
        write_manifest(final, recipe, "job1", written=written)

    _finish(part, final, file_type="F16", before_rename=record)
    assert seen == [False] and not part.exists()
    assert mismatch(final, recipe) is None


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"llamadeck_manifest": 1, "output": "x"}',
                                  '{"llamadeck_manifest": 1, "output": {}, "imported": 5}', "\udcff"])
def test_a_damaged_record_is_no_record(tmp_path: Path, text: str) -> None:
    recipe = _recipe(_checkpoint(tmp_path / "m", b"1" * 100))
    out = tmp_path / "m-F16.gguf"
    out.write_bytes(b"GGUF")
    manifest_path(out).write_bytes(text.encode("utf-8", "surrogateescape"))
    assert "no record" in (mismatch(out, recipe) or "")
    assert place(out, recipe) == hashed_name(out, recipe.source_key)
