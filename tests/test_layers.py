"""The shape of the code: nothing below the UI imports textual; tui/cron imports nothing of ours."""

from __future__ import annotations

import ast
from pathlib import Path

TUI = Path(__file__).resolve().parent.parent / "tui"
UI = {"app.py", "screens", "widgets"}


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(below: Path) -> list[Path]:
    return sorted(below.rglob("*.py"))


def test_nothing_below_the_ui_imports_textual() -> None:
    offenders = [str(p.relative_to(TUI)) for p in modules(TUI)
                 if p.relative_to(TUI).parts[0] not in UI
                 and any(n == "textual" or n.startswith("textual.") for n in imports(p))]
    assert offenders == []


def test_cron_is_pure() -> None:
    allowed_prefixes = ("tui.cron", "croniter", "cron_descriptor")
    stdlib_io = {"socket", "subprocess", "psycopg", "httpx", "os", "pathlib"}
    for path in modules(TUI / "cron"):
        for name in imports(path):
            top = name.split(".")[0]
            assert top not in stdlib_io, f"{path.name} imports {name}"
            if name.startswith("tui"):
                assert name.startswith(allowed_prefixes), f"{path.name} imports {name}"
