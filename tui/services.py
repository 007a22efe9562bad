"""The services a running app uses, built by the CLI and replaced by fakes in tests.

Screens reach core only through these objects (never through module-level
clients), so a test can hand the app a hardware probe backed by a fake NVML
module or an Ollama client pointed at the fake server.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings
from core.hardware import HardwareProbe


@dataclass
class Services:
    hardware: HardwareProbe

    def close(self) -> None:
        self.hardware.close()


def build_services(settings: Settings) -> Services:
    return Services(hardware=HardwareProbe.from_settings(settings))
