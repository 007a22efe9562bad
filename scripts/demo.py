"""`./dev demo`: llamadeck against the fake Ollama and a fake RTX 4090, to walk every screen on a laptop.

The same fakes the screenshots use (scripts/screenshots.py): a fake Ollama server with a store of
common models (two of them loaded), a fake NVML posing as one RTX 4090 24 GiB, and for Discover the
local Hub stand-in serving hollow GGUFs of real models (scripts/screenshots_discover.py). The fakes live in
tests/fakes and need the test dependencies, which `./dev demo` installs first. Nothing real is
touched: the config and data dirs are a temporary folder, and nothing is pulled or deleted for real.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.config import HostConfig, Settings  # noqa: E402
from core.hardware.probe import HardwareProbe  # noqa: E402
from scripts.screenshots import fake_ollama_server, model_store  # noqa: E402
from scripts.screenshots_discover import stock  # noqa: E402
from tests.fakes.fake_hub import FakeHub  # noqa: E402
from tests.fakes.fake_nvml import FakeGpu, FakeNvml, GiB  # noqa: E402
from tests.fakes.fake_ollama import FakeOllama  # noqa: E402
from tui.app import LlamadeckApp, make_app  # noqa: E402
from tui.services import Services  # noqa: E402


def demo_app(workdir: Path) -> tuple[LlamadeckApp, FakeOllama]:
    """The real app on the fakes; the caller closes the fake server when the app ends."""
    (workdir / "blobs").mkdir(exist_ok=True)
    fake = fake_ollama_server(workdir)
    for model in model_store():
        fake.add_model(model)
    fake.set_running("qwen3:8b", size=6_358_000_000, size_vram=6_358_000_000, context_length=8192,
                     expires_in=290)
    models = workdir / "ollama-models"
    models.mkdir(exist_ok=True)
    settings = Settings(ollama_models_dir=models, hf_cache_dir=workdir / "hf-cache",
                        hosts=(HostConfig(name="demo", url=fake.url),), default_host="demo")
    probe = HardwareProbe.from_settings(settings, nvml=FakeNvml([FakeGpu(memory_used=7 * GiB)]))
    return make_app(settings, Services(hardware=probe)), fake


def demo_hub(workdir: Path, hub: FakeHub) -> None:
    """Discover (6) searches `hub` (started by the caller), stocked with the screenshot's GGUF repos."""
    from huggingface_hub import constants

    stock(hub, workdir / "hub")
    os.environ["HF_ENDPOINT"] = hub.url
    constants.ENDPOINT, constants.HF_HUB_OFFLINE = hub.url, False


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="llamadeck-demo-") as tmp, FakeHub() as hub:
        for name, sub in (("LLAMADECK_CONFIG", "config.toml"), ("LLAMADECK_DATA_DIR", "data"),
                          ("LLAMADECK_CACHE_DIR", "cache"), ("LLAMADECK_LOG_DIR", "log")):
            os.environ[name] = str(Path(tmp) / sub)  # the user's own config and history stay untouched
        demo_hub(Path(tmp), hub)
        app, fake = demo_app(Path(tmp))
        try:
            app.run()
        finally:
            fake.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
