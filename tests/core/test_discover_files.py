"""A repo's GGUF files: quant names, split parts grouped, what is not a model, and the sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.discover.files import list_files
from core.discover.types import RemoteFile
from core.discover.variants import group_files, kind_of, quant_from_name
from core.errors import DiscoverError
from tests.core.discover_support import hub, hub_for, tiny_gguf, tiny_repo
from tests.fakes.fake_hub import FakeHub, HubRepo

__all__ = ["hub"]


@pytest.mark.parametrize(("path", "quant"), [
    ("Qwen2.5-7B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
    ("Meta-Llama-3-8B-Instruct.Q8_0.gguf", "Q8_0"),
    ("gemma-3-27b-it-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
    ("DeepSeek-R1-UD-IQ1_S-00001-of-00003.gguf", "UD-IQ1_S"),
    ("BF16/Model-BF16-00001-of-00002.gguf", "BF16"),
    ("Q4_K_M/DeepSeek-R1-00001-of-00003.gguf", "Q4_K_M"),  # the folder says it
    ("Llama-3.2-1B-Instruct-f16.gguf", "F16"),
    ("phi-4-fp16.gguf", "F16"),
    ("Qwen3-30B-A3B-IQ4_XS.gguf", "IQ4_XS"),
    ("x-IQ2_XXS.gguf", "IQ2_XXS"),
    ("gpt-oss-20b-MXFP4_MOE.gguf", "MXFP4_MOE"),
    ("Qwen2-7B.gguf", None),  # "Q" of Qwen is no quant
])
def test_the_quant_comes_from_the_name(path: str, quant: str | None) -> None:
    assert quant_from_name(path) == quant


@pytest.mark.parametrize(("path", "kind"), [("mmproj-Qwen2.5-VL-7B-f16.gguf", "mmproj"),
                                            ("Qwen2.5-VL-7B.mmproj-Q8_0.gguf", "mmproj"),
                                            ("imatrix.gguf", "imatrix"), ("Model-Q4_K_M.gguf", "model")])
def test_projectors_and_matrices_are_not_models(path: str, kind: str) -> None:
    assert kind_of(path) == kind


def _file(path: str, size: int = 10) -> RemoteFile:
    return RemoteFile(path, size, f"http://hub/{path}")


def test_split_parts_are_one_group_first_part_first() -> None:
    groups = group_files([_file("Q4_K_M/M-Q4_K_M-00002-of-00002.gguf", 5),
                          _file("Q4_K_M/M-Q4_K_M-00001-of-00002.gguf", 7),
                          _file("M-Q8_0.gguf", 30), _file("mmproj-M-f16.gguf", 1), _file("README.md")])
    assert [g.name for g in groups] == ["M-Q4_K_M-*-of-00002.gguf", "M-Q8_0.gguf", "mmproj-M-f16.gguf"]
    split = groups[0]
    assert split.quant == "Q4_K_M" and split.size == 12 and not split.missing
    assert [p.name for p in split.parts] == ["M-Q4_K_M-00001-of-00002.gguf", "M-Q4_K_M-00002-of-00002.gguf"]
    assert groups[-1].kind == "mmproj" and not groups[-1].is_model


def test_a_missing_part_is_named() -> None:
    (group,) = group_files([_file("M-00001-of-00003.gguf"), _file("M-00003-of-00003.gguf")])
    assert group.missing == ("M-00002-of-00003.gguf",)


def test_a_repo_is_listed_at_its_commit_with_sizes(hub: FakeHub, tmp_path: Path) -> None:
    repo = hub.add(tiny_repo(tmp_path / "repo"))
    listing = list_files(repo.repo_id, hub=hub_for(hub))
    assert listing.revision == repo.sha and listing.other_files == 1 and not listing.gated
    names = {g.name: g for g in listing.groups}
    assert set(names) == {"Tiny-Q4_K_M.gguf", "Tiny-Q8_0.gguf", "Tiny-F16-*-of-00003.gguf",
                          "mmproj-Tiny-f16.gguf"}
    split = names["Tiny-F16-*-of-00003.gguf"]
    assert len(split.parts) == 3 and split.quant == "F16"
    assert split.size == sum(repo.files[p.path].stat().st_size for p in split.parts)
    assert all(f"/resolve/{repo.sha}/" in p.url for p in split.parts), "reads pin the commit, not main"
    assert [g.is_model for g in listing.groups][-1] is False, "the projector comes last"


def test_a_repo_without_gguf_files_is_a_sentence(hub: FakeHub, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{}")
    hub.add(HubRepo("Qwen/Qwen2.5-7B-Instruct", {"config.json": config}))
    with pytest.raises(DiscoverError) as err:
        list_files("Qwen/Qwen2.5-7B-Instruct", hub=hub_for(hub))
    assert str(err.value).startswith(f"Qwen/Qwen2.5-7B-Instruct on {hub.url} has no GGUF files.")
    assert "llamadeck convert" in str(err.value)


def test_a_repo_of_projectors_only_has_no_model(hub: FakeHub, tmp_path: Path) -> None:
    hub.add(HubRepo("x/proj", {"mmproj-x-f16.gguf": tiny_gguf(tmp_path / "p.gguf")}))
    with pytest.raises(DiscoverError, match=r"no model among them \(only mmproj\)"):
        list_files("x/proj", hub=hub_for(hub))


@pytest.mark.parametrize(("repo_id", "message"), [("nobody/nothing", "There is no model nobody/nothing on"),
                                                  ("not a repo", "is not a Hub repo id")])
def test_unknown_repos_are_sentences(hub: FakeHub, repo_id: str, message: str) -> None:
    with pytest.raises(DiscoverError, match=message):
        list_files(repo_id, hub=hub_for(hub))


def test_a_gated_repo_is_listed_and_says_so(hub: FakeHub, tmp_path: Path) -> None:
    hub.add(tiny_repo(tmp_path / "g", "meta/gated-GGUF", gated="manual"))
    assert list_files("meta/gated-GGUF", hub=hub_for(hub, token=False)).gated
