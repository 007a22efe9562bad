"""Frozen dataclasses shared by core, the CLI and the screens, one module an area.

`from core.models import X` works for every name; the module that defines X is
imported on first use, so the dashboard (which needs only the hardware types)
starts without creating the chat, pipeline and planner classes.

Sizes are bytes, rates bytes/s, clocks MHz, power watts, temperatures deg C.
A field is None when the source could not say, so a screen can show "n/a"
instead of a made-up zero.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.models.chat import (
        MESSAGE_STATUSES as MESSAGE_STATUSES,
    )
    from core.models.chat import (
        THINK_LEVELS as THINK_LEVELS,
    )
    from core.models.chat import (
        ChatEvent as ChatEvent,
    )
    from core.models.chat import (
        ChatMessage as ChatMessage,
    )
    from core.models.chat import (
        ChatOptions as ChatOptions,
    )
    from core.models.chat import (
        ChatStats as ChatStats,
    )
    from core.models.chat import (
        ContentDelta as ContentDelta,
    )
    from core.models.chat import (
        ContentWasThinking as ContentWasThinking,
    )
    from core.models.chat import (
        SessionInfo as SessionInfo,
    )
    from core.models.chat import (
        StoredMessage as StoredMessage,
    )
    from core.models.chat import (
        StreamDone as StreamDone,
    )
    from core.models.chat import (
        StreamFailed as StreamFailed,
    )
    from core.models.chat import (
        ThinkingDelta as ThinkingDelta,
    )
    from core.models.facts import (
        ModelFacts as ModelFacts,
    )
    from core.models.facts import (
        TensorInfo as TensorInfo,
    )
    from core.models.hardware import (
        BandwidthResult as BandwidthResult,
    )
    from core.models.hardware import (
        CpuInfo as CpuInfo,
    )
    from core.models.hardware import (
        DiskInfo as DiskInfo,
    )
    from core.models.hardware import (
        GpuInfo as GpuInfo,
    )
    from core.models.hardware import (
        GpuProcess as GpuProcess,
    )
    from core.models.hardware import (
        GpuSample as GpuSample,
    )
    from core.models.hardware import (
        MachineInfo as MachineInfo,
    )
    from core.models.hardware import (
        SystemSample as SystemSample,
    )
    from core.models.hardware import (
        to_jsonable as to_jsonable,
    )
    from core.models.ollama import (
        LocalModel as LocalModel,
    )
    from core.models.ollama import (
        ModelDetails as ModelDetails,
    )
    from core.models.ollama import (
        PullLayer as PullLayer,
    )
    from core.models.ollama import (
        PullProgress as PullProgress,
    )
    from core.models.ollama import (
        RunningModel as RunningModel,
    )
    from core.models.ollama import (
        ServerHealth as ServerHealth,
    )
    from core.models.ollama import (
        ShowInfo as ShowInfo,
    )
    from core.models.pipeline import (
        CHECK_STATUSES as CHECK_STATUSES,
    )
    from core.models.pipeline import (
        JOB_STATUSES as JOB_STATUSES,
    )
    from core.models.pipeline import (
        SOURCE_KINDS as SOURCE_KINDS,
    )
    from core.models.pipeline import (
        STAGE_NAMES as STAGE_NAMES,
    )
    from core.models.pipeline import (
        DiskNeed as DiskNeed,
    )
    from core.models.pipeline import (
        HfFile as HfFile,
    )
    from core.models.pipeline import (
        HfRepoListing as HfRepoListing,
    )
    from core.models.pipeline import (
        JobEvent as JobEvent,
    )
    from core.models.pipeline import (
        JobFinished as JobFinished,
    )
    from core.models.pipeline import (
        JobOutputs as JobOutputs,
    )
    from core.models.pipeline import (
        JobPlanned as JobPlanned,
    )
    from core.models.pipeline import (
        JobSpec as JobSpec,
    )
    from core.models.pipeline import (
        LogLine as LogLine,
    )
    from core.models.pipeline import (
        ModelSource as ModelSource,
    )
    from core.models.pipeline import (
        PreflightCheck as PreflightCheck,
    )
    from core.models.pipeline import (
        PreflightReported as PreflightReported,
    )
    from core.models.pipeline import (
        StageFailed as StageFailed,
    )
    from core.models.pipeline import (
        StageFinished as StageFinished,
    )
    from core.models.pipeline import (
        StageProgress as StageProgress,
    )
    from core.models.pipeline import (
        StageSkipped as StageSkipped,
    )
    from core.models.pipeline import (
        StageStarted as StageStarted,
    )
    from core.models.planner import (
        PLACEMENTS as PLACEMENTS,
    )
    from core.models.planner import (
        DeviceMemory as DeviceMemory,
    )
    from core.models.planner import (
        GpuSpec as GpuSpec,
    )
    from core.models.planner import (
        MachineSpec as MachineSpec,
    )
    from core.models.planner import (
        MemoryBreakdown as MemoryBreakdown,
    )
    from core.models.planner import (
        Plan as Plan,
    )
    from core.models.planner import (
        PlanInputs as PlanInputs,
    )
    from core.models.planner import (
        QuantRow as QuantRow,
    )
    from core.models.planner import (
        RuntimeSettings as RuntimeSettings,
    )

_WHERE: dict[str, str] = {
    "BandwidthResult": "hardware",
    "CHECK_STATUSES": "pipeline",
    "ChatEvent": "chat",
    "ChatMessage": "chat",
    "ChatOptions": "chat",
    "ChatStats": "chat",
    "ContentDelta": "chat",
    "ContentWasThinking": "chat",
    "CpuInfo": "hardware",
    "DeviceMemory": "planner",
    "DiskInfo": "hardware",
    "DiskNeed": "pipeline",
    "GpuInfo": "hardware",
    "GpuProcess": "hardware",
    "GpuSample": "hardware",
    "GpuSpec": "planner",
    "HfFile": "pipeline",
    "HfRepoListing": "pipeline",
    "JOB_STATUSES": "pipeline",
    "JobEvent": "pipeline",
    "JobFinished": "pipeline",
    "JobOutputs": "pipeline",
    "JobPlanned": "pipeline",
    "JobSpec": "pipeline",
    "LocalModel": "ollama",
    "LogLine": "pipeline",
    "MESSAGE_STATUSES": "chat",
    "MachineInfo": "hardware",
    "MachineSpec": "planner",
    "MemoryBreakdown": "planner",
    "ModelDetails": "ollama",
    "ModelFacts": "facts",
    "ModelSource": "pipeline",
    "PLACEMENTS": "planner",
    "Plan": "planner",
    "PlanInputs": "planner",
    "PreflightCheck": "pipeline",
    "PreflightReported": "pipeline",
    "PullLayer": "ollama",
    "PullProgress": "ollama",
    "QuantRow": "planner",
    "RunningModel": "ollama",
    "RuntimeSettings": "planner",
    "SOURCE_KINDS": "pipeline",
    "STAGE_NAMES": "pipeline",
    "ServerHealth": "ollama",
    "SessionInfo": "chat",
    "ShowInfo": "ollama",
    "StageFailed": "pipeline",
    "StageFinished": "pipeline",
    "StageProgress": "pipeline",
    "StageSkipped": "pipeline",
    "StageStarted": "pipeline",
    "StoredMessage": "chat",
    "StreamDone": "chat",
    "StreamFailed": "chat",
    "SystemSample": "hardware",
    "THINK_LEVELS": "chat",
    "TensorInfo": "facts",
    "ThinkingDelta": "chat",
    "to_jsonable": "hardware",
}


def __getattr__(name: str) -> Any:
    area = _WHERE.get(name)
    if area is None:
        raise AttributeError(f"module 'core.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"core.models.{area}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(_WHERE)
