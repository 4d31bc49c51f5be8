"""tui/cron's modules import one another in one direction only (no loop, even inside
functions): versions, model and interval at the bottom, then grammar, zones, nextrun, describe,
standard."""

from __future__ import annotations

import ast
from pathlib import Path

CRON = Path(__file__).resolve().parents[2] / "tui" / "cron"


def relative_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.module and node.module.startswith("tui.cron."):
                found.add(node.module.split(".")[2])
    return found


def test_no_import_loop_inside_cron() -> None:
    graph = {p.stem: relative_imports(p) for p in CRON.glob("*.py") if p.stem != "__init__"}
    assert graph["versions"] == graph["model"] == graph["interval"] == set()
    assert graph["grammar"] == {"interval", "model", "versions"}

    def reaches(start: str, target: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(n == target or (n not in seen and reaches(n, target, seen | {n}))
                   for n in graph.get(start, set()))

    assert [m for m in graph if reaches(m, m)] == []
