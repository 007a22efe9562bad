"""With no `convert_python` configured, the converter's Python is whatever `python3` PATH finds:
often llamadeck's own venv. The advice is a venv of the converter's own, not torch in llamadeck's."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.config import LlamaCppConfig, Settings
from core.pipeline.tools import check_converter, find_tools


def test_a_python_from_path_gets_a_venv_of_its_own_not_torch(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "llama.cpp"
    (checkout / "requirements").mkdir(parents=True)
    script = checkout / "convert_hf_to_gguf.py"
    script.write_text("# the converter\n")
    requirements = checkout / "requirements" / "requirements-convert_hf_to_gguf.txt"
    requirements.write_text("torch\n")
    # PATH's python3 is llamadeck's own venv, which deliberately has no torch.
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    tools = find_tools(Settings(llamacpp=LlamaCppConfig(convert_script=script)))
    assert tools.convert_python_from == "PATH"
    check = check_converter(tools.convert_python, tools.convert_script, python_from=tools.convert_python_from)
    assert check.failed
    assert "No converter Python is configured" in check.message and "torch" in check.message
    assert (f"`python3 -m venv ~/.venvs/convert && ~/.venvs/convert/bin/pip install -r {requirements}`"
            in check.message)
    assert 'convert_python = "~/.venvs/convert/bin/python"` under [llamacpp]' in check.message
    assert "-m pip install torch" not in check.message  # not into llamadeck's venv
    if sys.prefix != sys.base_prefix:
        assert "llamadeck's own venv" in check.message


def test_a_configured_python_still_gets_the_pip_commands(tmp_path: Path) -> None:
    script = tmp_path / "convert_hf_to_gguf.py"
    script.write_text("# the converter\n")
    config = LlamaCppConfig(convert_script=script, convert_python=Path(sys.executable))
    tools = find_tools(Settings(llamacpp=config))
    assert tools.convert_python_from == "config"
    check = check_converter(tools.convert_python, tools.convert_script, python_from=tools.convert_python_from)
    assert check.failed and f"{sys.executable} -m pip install torch" in check.message
