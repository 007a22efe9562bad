"""The CLI entry point: subcommands load lazily, so the TUI starts without their imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli import COMMANDS
from cli.main import _command_in, main


def test_importing_the_cli_loads_no_subcommand_dependencies() -> None:
    code = (
        "import sys, cli.main\n"
        "names = ('ollama', 'numpy', 'gguf', 'huggingface_hub', 'core.pipeline.job')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("argv", "command"),
    [([], None), (["hw", "--json"], "hw"), (["--config", "ls", "ps"], "ps"), (["--version"], None),
     (["nonsense"], None)],
)
def test_the_command_is_found_before_parsing(argv: list[str], command: str | None) -> None:
    assert _command_in(argv) == command


def test_every_listed_command_has_a_module_that_registers(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        with pytest.raises(SystemExit) as done:
            main([name, "--help"])
        assert done.value.code == 0
        assert f"usage: llamadeck {name}" in capsys.readouterr().out


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
