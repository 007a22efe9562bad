"""The server health view (`h`): reachable, version, where Ollama listens, the models disk, and the
two diagnoses users kept missing: a server open to the network and a model silently on the CPU."""

from __future__ import annotations

import ipaddress

import psutil
import pytest

from core.config import HostConfig, Settings
from core.hardware.types import GpuInfo
from core.ollama.types import RunningModel, ServerHealth
from tests.fakes.fake_nvml import FakeNvml
from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_ollama_models import demo_models
from tests.tui.conftest import screen_text, wait_for
from tests.tui.models_support import (
    SIZE,
    health_panel,
    models_app,
    one_line,
    open_browser,
    with_gpu,
)
from tui.widgets.models.health import HealthReport, notices, with_running

CPU_DIAGNOSIS = (
    "qwen3:8b runs entirely on the CPU although this machine has an NVIDIA GPU. Ollama most likely logged "
    "`no compatible GPUs were discovered`: install its CUDA build (`ollama-cuda` on Arch), check the driver "
    "with `nvidia-smi`, then restart Ollama."
)


def non_loopback_ipv4() -> str | None:
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family.name == "AF_INET" and not ipaddress.ip_address(address.address).is_loopback:
                return str(address.address)
    return None


async def test_health_shows_server_listening_and_models_disk(
        settings: Settings, fake_ollama: FakeOllama) -> None:
    app = models_app(settings, fake_ollama, nvml=with_gpu())
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_browser(pilot)
        await pilot.press("h")
        await wait_for(pilot, lambda: health_panel(screen).report is not None)
        text = one_line(screen_text(app))
        assert f"Server fake {fake_ollama.url}" in text
        assert "Status reachable Ollama 0.12.6" in text
        assert f"Listens 127.0.0.1:{fake_ollama.port} loopback only" in text
        assert f"Models {settings.ollama_models_dir}" in text and "GiB free of" in text
        assert "GPU NVIDIA GeForce RTX 4090 (24.0 GiB)" in text
        assert "beyond loopback" not in text and "CPU" not in text
        assert not health_panel(screen).has_class("-warn")
        await pilot.press("h")  # back to the details
        await pilot.pause()
        assert "Architecture" in screen_text(app)


async def test_model_on_the_cpu_next_to_an_nvidia_gpu_gets_the_diagnosis(settings: Settings,
                                                                        fake_ollama: FakeOllama) -> None:
    fake_ollama.set_running("qwen3:8b", size_vram=0)
    app = models_app(settings, fake_ollama, nvml=with_gpu())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await wait_for(pilot, lambda: screen.report is not None and screen.report.cpu_notice is not None)
        # A short pointer on the main view, the whole diagnosis in the health view.
        pointer = "qwen3:8b on the CPU only although there is an NVIDIA GPU (h: why)."
        assert pointer in one_line(screen_text(app))
        assert "100% CPU" in screen_text(app)
        await pilot.press("h")
        await pilot.pause()
        panel = health_panel(screen)
        assert panel.has_class("-warn")
        text = one_line(screen_text(app))
        assert CPU_DIAGNOSIS in text
        assert "! 1 loaded model on the CPU only" in text

        fake_ollama.set_running("qwen3:8b", size_vram=3_000_000_000)  # Ollama restarted with CUDA
        await wait_for(pilot, lambda: screen.report is not None and screen.report.cpu_notice is None,
                       timeout=6)
        assert "no compatible GPUs" not in one_line(screen_text(app))


@pytest.mark.parametrize(("gpus", "size_vram"), [(FakeNvml([]), 0), (None, 2_000_000_000)],
                         ids=["no-nvidia-gpu", "partial-offload"])
async def test_no_cpu_diagnosis_without_a_gpu_or_for_a_partial_split(
        settings: Settings, fake_ollama: FakeOllama, gpus: FakeNvml | None, size_vram: int) -> None:
    fake_ollama.set_running("qwen3:8b", size_vram=size_vram)
    app = models_app(settings, fake_ollama, nvml=gpus if gpus is not None else with_gpu())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_browser(pilot)
        await wait_for(pilot, lambda: screen.report is not None and bool(screen.report.running))
        assert screen.report is not None and screen.report.cpu_notice is None
        await pilot.press("h")
        await pilot.pause()
        assert "no compatible GPUs" not in one_line(screen_text(app))


async def test_local_server_listening_on_every_interface_is_a_warning(
        settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    with FakeOllama(host="0.0.0.0", blob_dir=tmp_path_factory.mktemp("blobs")) as fake:
        for model in demo_models():
            fake.add_model(model)
        app = models_app(settings, hosts=(HostConfig(name="local", url=f"http://127.0.0.1:{fake.port}"),))
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_browser(pilot)
            assert screen.report is not None
            if not screen.report.health.listen_addresses:
                pytest.skip("psutil cannot read the listening sockets here")
            text = one_line(screen_text(app))
            assert "Ollama answers beyond loopback without authentication (h: details)." in text
            await pilot.press("h")
            await pilot.pause()
            text = one_line(screen_text(app))
            assert f"Listens 0.0.0.0:{fake.port} beyond loopback" in text
            assert (f"Ollama listens on 0.0.0.0:{fake.port}, beyond loopback, and Ollama has no "
                    "authentication: anyone on the network can pull, delete and run models.") in text


@pytest.mark.parametrize(("token", "warning"), [
    (None, "answers over the network without authentication: anyone who can reach port"),
    ("s3cret", "travels unencrypted over plain http"),
], ids=["no-auth", "token-over-http"])
async def test_remote_server_without_authentication_is_a_warning(
        settings: Settings, tmp_path_factory: pytest.TempPathFactory, token: str | None,
        warning: str) -> None:
    address = non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with FakeOllama(host="0.0.0.0", blob_dir=tmp_path_factory.mktemp("blobs")) as fake:
        for model in demo_models():
            fake.add_model(model)
        host = HostConfig(name="gpu-box", url=f"http://{address}:{fake.port}", token=token)
        app = models_app(settings, hosts=(host,), nvml=with_gpu())
        async with app.run_test(size=(100, 40)) as pilot:
            await open_browser(pilot)
            await pilot.press("h")
            await pilot.pause()
            text = one_line(screen_text(app))
            assert warning in text
            assert "Listens on the remote host (not visible from here)" in text
            assert "the server's GPUs are not visible from here" in text  # no local-GPU diagnosis remotely
            assert "s3cret" not in text  # secrets are never shown
            if token:
                assert fake.requests[-1].headers.get("authorization") == "Bearer s3cret"


def test_an_amd_gpu_gets_its_own_causes_on_the_models_screen() -> None:
    """The Models screen passes every GPU to the diagnosis, so an AMD card's causes are named."""
    amd = GpuInfo(0, "amd", "Radeon RX 6600", None, 8 * 1024**3, gfx_target="gfx1032")
    local = ServerHealth("local", "http://127.0.0.1:11434", True, version="0.12.6", is_local=True)
    running = (RunningModel(name="qwen3:8b", size=5 * 1024**3, size_vram=0),)
    report = with_running(HealthReport(local, gpus=(amd,)), running)
    assert report.cpu_notice is not None and "AMD GPU" in report.cpu_notice
    assert notices(report) == ["qwen3:8b on the CPU only although there is an AMD GPU (h: why)."]
