"""The shape of the code, held by tests: imports only point down the layers.

    tui/cli/   entry point and subcommands      (may import everything below; only `demo`
                                                 imports tui/lab, only `bench` benchmarks/)
    tui/lab/   demo, sandbox, seed              (off the runtime path)
    tui/ui/    the Textual app                  (the only place textual is imported)
    the rest   capabilities, tui/db/ (the only place with SQL), tui/cron/ (pure)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import textual

TUI = Path(__file__).resolve().parent.parent / "tui"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(TUI.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(TUI.rglob("*.py"))}


MODULES = modules()


def imported(path: Path) -> Iterator[tuple[str, int]]:
    """Every module this file imports, at any depth (imports inside functions count), resolved
    to our modules where `from package import submodule` names one."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for alias in node.names:
                if f"{node.module}.{alias.name}" in MODULES:
                    yield f"{node.module}.{alias.name}", node.lineno


def ours(name: str) -> str | None:
    """The module of ours an import name lands in (the longest known prefix)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in {"cli", "ui", "lab", "db", "cron"} else "core"


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, path in MODULES.items():
        for name, _ in imported(path):
            target = ours(name)
            # a package's __init__ importing from its own submodules is how packages re-export
            if target and target != mod and not target.startswith(mod + "."):
                edges[mod].add(target)
    return edges


def test_no_import_loops() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for mod in sorted(edges):
        if mod not in index:
            visit(mod)
    assert loops == []


def offenders(rule) -> list[str]:
    found = []
    for mod, path in MODULES.items():
        for name, line in imported(path):
            if rule(mod, name):
                found.append(f"{path.relative_to(TUI.parent)}:{line} imports {name}")
    return found


def test_only_the_entry_point_imports_the_cli() -> None:
    assert offenders(lambda mod, name: (name == "tui.cli" or name.startswith("tui.cli."))
                     and layer(mod) != "cli" and mod != "tui.__main__") == []


def test_nothing_below_the_ui_imports_textual_or_the_ui() -> None:
    def rule(mod: str, name: str) -> bool:
        if layer(mod) in {"ui", "cli", "lab"}:
            return False
        return (name.split(".")[0] == "textual" or name == "tui.ui"
                or name.startswith("tui.ui."))

    assert offenders(rule) == []


def test_the_runtime_path_does_not_import_the_lab() -> None:
    # The demo's cluster and seed are the lab's: every other command runs without it.
    assert offenders(lambda mod, name: layer(mod) != "lab" and mod != "tui.cli.demo"
                     and (name == "tui.lab" or name.startswith("tui.lab."))) == []


def test_benchmarks_stay_out_of_the_package() -> None:
    # benchmarks/ lies beside tui/ (not in the wheel): only `bench` reaches it, in a checkout.
    assert offenders(lambda mod, name: name.split(".")[0] == "benchmarks"
                     and mod != "tui.cli.bench") == []
    assert [m for m in MODULES if "bench" in m and m != "tui.cli.bench"] == []


def test_cron_is_pure() -> None:
    allowed = ("tui.cron", "croniter", "cron_descriptor")
    io = {"socket", "subprocess", "psycopg", "httpx", "os", "pathlib"}
    assert offenders(lambda mod, name: layer(mod) == "cron" and (
        name.split(".")[0] in io or (name.startswith("tui") and not name.startswith(allowed)))
    ) == []


# Statement shapes, not single words: "select a job first" is a message, "select x from y" is SQL.
SQL = re.compile(
    r"(?is)^\s*(select\s.+\sfrom\s|with\s+\w+\s+as\s*\(|insert\s+into\s|update\s+[\w.\"]+\s+set\s"
    r"|delete\s+from\s|alter\s+(table|system|role|extension)\s|create\s+(table|index|extension"
    r"|role|function)\s|drop\s+(table|index|extension)\s|set\s+(local\s+)?[\w.]+\s*(=|to)\s"
    r"|show\s+[\w.]+\s*;?\s*$|(begin|commit|rollback)\s*;?\s*$)")


def test_sql_text_lives_only_in_db() -> None:
    found = []
    for mod, path in MODULES.items():
        if layer(mod) in {"db", "lab"}:  # the lab builds clusters: its SQL is set-up, not queries
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef,
                                        ast.ClassDef))
                      and n.body and isinstance(n.body[0], ast.Expr)
                      and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docstrings and SQL.match(node.value)):
                found.append(f"{path.relative_to(TUI.parent)}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr in {"SQL", "Identifier", "Literal"} \
                    and isinstance(node.value, ast.Name) and node.value.id == "sql":
                found.append(f"{path.relative_to(TUI.parent)}:{node.lineno} composes SQL")
    assert found == []


def test_modules_stay_small() -> None:
    big = {str(p.relative_to(TUI.parent)): n for p in MODULES.values()
           if (n := len(p.read_text().splitlines())) > 500}
    assert big == {}


def textual_private_names() -> set[str]:
    """Underscore names Textual defines on its objects (attributes and methods)."""
    names: set[str] = set()
    pattern = re.compile(r"(?:self\.|def )(_[a-z]\w*)")
    for path in Path(textual.__file__).parent.rglob("*.py"):
        names.update(pattern.findall(path.read_text(encoding="utf-8")))
    return names


def test_no_private_textual_names() -> None:
    ui = [p for m, p in MODULES.items() if layer(m) in {"ui", "lab"}]
    ours_defined: set[str] = set()
    used: list[tuple[str, str]] = []
    for path in ui:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                ours_defined.add(node.name)
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                if isinstance(node.ctx, ast.Store):
                    ours_defined.add(node.attr)
                used.append((node.attr, f"{path.relative_to(TUI.parent)}:{node.lineno}"))
            elif isinstance(node, ast.ImportFrom) and node.module and (
                    node.module.startswith("textual._") or ".textual._" in node.module
                    or any(a.name.startswith("_") for a in node.names)
                    and node.module.startswith("textual")):
                used.append((node.module, f"{path.relative_to(TUI.parent)}:{node.lineno}"))
    private = textual_private_names() - ours_defined
    found = sorted(f"{where} {name}" for name, where in used
                   if name in private or name.startswith("textual"))
    assert found == []


def textual_overrides(classes: list[type]) -> list[str]:
    """Our classes' methods and attributes that replace a private one of a Textual class they
    inherit from: `_handle_exception`, say. The name check above cannot see them (a name we
    define is ours there), yet each is a reach into Textual's insides, by another route."""
    found = []
    for cls in classes:
        for name, value in vars(cls).items():
            value = getattr(value, "fget", value)  # a property: its getter
            # Only what the class body defines (Textual's metaclass adds private names too).
            if not name.startswith("_") or name.startswith("__") or not getattr(
                    value, "__qualname__", "").startswith(f"{cls.__qualname__}."):
                continue
            for base in cls.__mro__[1:]:
                if base.__module__.split(".")[0] == "textual" and name in vars(base):
                    found.append(f"{cls.__module__}.{cls.__qualname__}.{name} "
                                 f"(of {base.__module__}.{base.__qualname__})")
                    break
    return sorted(found)


def classes_of(module_names: list[str]) -> list[type]:
    import importlib
    import inspect

    found = []
    for name in module_names:
        module = importlib.import_module(name)
        found += [c for _, c in inspect.getmembers(module, inspect.isclass)
                  if c.__module__ == name]
    return found


def test_no_private_textual_method_is_overridden() -> None:
    ui = [m for m in MODULES if layer(m) == "ui"]
    tests = [".".join(p.relative_to(TUI.parent).with_suffix("").parts)
             for p in sorted((TUI.parent / "tests").rglob("test_*.py"))
             if "textual" in p.read_text()]
    assert textual_overrides(classes_of(ui + tests)) == []


def test_the_override_check_sees_an_override() -> None:
    from textual.app import App

    class Sneaky(App[None]):
        def _handle_exception(self, error: Exception) -> None: ...

        def _ours_alone(self) -> None: ...

    (found,) = textual_overrides([Sneaky])
    assert "Sneaky._handle_exception (of textual.app.App)" in found
