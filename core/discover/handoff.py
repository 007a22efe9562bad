"""What Discover hands on from a file row: Ollama's name for it, and the planner's model.

Ollama pulls a Hub GGUF by `hf.co/{repo}:{quant}` and picks the repo's file
whose name carries that quant (case-insensitive, Unsloth's `UD-` marks
included); it pulls single-file GGUFs only, so a split file is refused here
with what to do instead. The planner gets the facts the remote header gave,
as a `PlannedModel` of kind `gguf` named after the file, so it starts on the
file's own quant and plans the repo's other quants from the same header.
"""

from __future__ import annotations

from core.discover.evaluate import NOT_A_MODEL
from core.discover.types import FileFit, GgufGroup, RepoListing
from core.errors import DiscoverError
from core.planner.source import PlannedModel
from core.units import plural

OLLAMA_HUB = "hf.co"  # the name Ollama pulls Hugging Face repos by, whatever mirror llamadeck reads from


def ollama_pull_name(repo_id: str, group: GgufGroup) -> str:
    """`hf.co/{repo}:{quant}` for one model file, or the sentence that says why Ollama cannot pull it."""
    if not group.is_model:
        what = NOT_A_MODEL.get(group.kind, "not a model")
        raise DiscoverError(f"{group.name} is {what}: Ollama has nothing to run from it alone.")
    if len(group.parts) > 1:
        raise DiscoverError(f"{group.name} is split in {plural(len(group.parts), 'part')}, and Ollama pulls "
                            "single-file GGUFs only.",
                            hint="Download it instead (its parts load together in llama.cpp), or pick a "
                                 "quant that is one file.")
    if not group.quant:
        raise DiscoverError(f"{group.name} names no quant, and Ollama picks a repo's file by its quant.",
                            hint="Download the file instead.")
    return f"{OLLAMA_HUB}/{repo_id}:{group.quant}"


def planned_model(listing: RepoListing, fit: FileFit) -> PlannedModel:
    """The planner's model for a file whose header was read (`fit.facts`); a sentence where it was not."""
    if fit.facts is None:
        raise DiscoverError(fit.error or f"{fit.group.name} has no header read to plan from.")
    first = fit.group.parts[0].name
    return PlannedModel(fit.facts, f"{OLLAMA_HUB}/{listing.repo_id}/{fit.group.parts[0].path}", "gguf",
                        path=first)
