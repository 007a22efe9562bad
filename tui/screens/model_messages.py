"""What the model browser's workers report back to it.

Every message carries the `generation` of the host it was asked of: after a
switch to another host (or a retry), answers still in flight from the old
one are dropped instead of painting the wrong server's models.
"""

from __future__ import annotations

from textual.message import Message

from core.errors import OllamaError
from core.hardware.types import DiskInfo, GpuInfo
from core.ollama.types import LocalModel, PullProgress, RunningModel, ServerHealth, ShowInfo


class HostMessage(Message):
    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation


class ModelsListed(HostMessage):
    def __init__(self, generation: int, models: list[LocalModel]) -> None:
        super().__init__(generation)
        self.models = models


class ModelsListFailed(HostMessage):
    def __init__(self, generation: int, error: OllamaError) -> None:
        super().__init__(generation)
        self.error = error


class RunningListed(HostMessage):
    """One `/api/ps` poll. A newer one replaces an older one still queued."""

    def __init__(self, generation: int, running: list[RunningModel]) -> None:
        super().__init__(generation)
        self.running = running

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunningListed)


class RunningListFailed(HostMessage):
    def __init__(self, generation: int, error: OllamaError) -> None:
        super().__init__(generation)
        self.error = error


class ModelShown(HostMessage):
    def __init__(self, generation: int, info: ShowInfo) -> None:
        super().__init__(generation)
        self.info = info


class ModelShowFailed(HostMessage):
    def __init__(self, generation: int, name: str, error: OllamaError) -> None:
        super().__init__(generation)
        self.name = name
        self.error = error


class ServerChecked(HostMessage):
    """Health of the server plus what this machine knows: its NVIDIA GPUs and the models folder's disk."""

    def __init__(self, generation: int, health: ServerHealth, gpus: tuple[GpuInfo, ...],
                 models_disk: DiskInfo | None) -> None:
        super().__init__(generation)
        self.health = health
        self.gpus = gpus
        self.models_disk = models_disk


class PullProgressed(HostMessage):
    """One line of a pull. `resumed_from` is how many bytes were already there when it started."""

    def __init__(self, generation: int, name: str, progress: PullProgress, resumed_from: int) -> None:
        super().__init__(generation)
        self.name = name
        self.progress = progress
        self.resumed_from = resumed_from

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, PullProgressed) and message.name == self.name


class PullEnded(HostMessage):
    """`outcome` is "done", "cancelled" or "failed"; `text` is the sentence to show."""

    def __init__(self, generation: int, name: str, outcome: str, text: str, resumable: bool) -> None:
        super().__init__(generation)
        self.name = name
        self.outcome = outcome
        self.text = text
        self.resumable = resumable


class ActionFinished(HostMessage):
    """A delete, copy, rename, load or unload went through; `text` says what happened."""

    def __init__(self, generation: int, text: str, *, relist: bool, repoll: bool) -> None:
        super().__init__(generation)
        self.text = text
        self.relist = relist
        self.repoll = repoll


class ActionFailed(HostMessage):
    def __init__(self, generation: int, text: str) -> None:
        super().__init__(generation)
        self.text = text
