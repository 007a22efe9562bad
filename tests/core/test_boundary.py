"""The one hard boundary: core never imports Textual or the UI layer."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = ("textual", "tui")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_core_never_imports_the_ui() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert files, "core/ has no modules?"
    offenders = [
        f"{path.relative_to(CORE.parent)} imports {name}"
        for path in files
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN
    ]
    assert offenders == []


def test_the_check_itself_catches_an_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from textual.app import App\nimport tui.app\n")
    assert [n for n in _imports(bad) if n.split(".")[0] in FORBIDDEN] == ["textual.app", "tui.app"]
