"""The package's layout rules, read from the source (no import): folders import each other in one
direction only, reports read a run through ``rundir`` and never an engine, and no function is
longer than `MAX_FUNCTION_LINES`."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "corpus_audit"
#: The longest function body allowed (decorators and docstring included).
MAX_FUNCTION_LINES = 60
#: Modules at the package root are shared types and helpers: every folder may import them.
ROOT = "<root>"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _folder(module: str) -> str:
    """``corpus_audit.engine.local`` → ``engine``; a root module → `ROOT`."""
    parts = module.split(".")
    if len(parts) < 2:
        return ROOT
    candidate = PACKAGE / parts[1]
    return parts[1] if candidate.is_dir() else ROOT


def _imports(path: Path) -> set[str]:
    """Every ``corpus_audit...`` module ``path`` imports, at any depth (function bodies too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("corpus_audit"))
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}: relative import (the package uses absolute ones)"
            name = node.module or ""
            if name.startswith("corpus_audit"):
                found.add(name)
                # ``from corpus_audit import engine`` imports the folder itself.
                found.update(f"{name}.{alias.name}" for alias in node.names
                             if (PACKAGE.parent / Path(*name.split("."), alias.name)).is_dir())
    return found


def folder_graph() -> dict[str, set[str]]:
    """Folder → the other folders its modules import (the package root left out)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _modules():
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        source = _folder(module)
        for imported in _imports(path):
            target = _folder(imported)
            if target not in (source, ROOT):
                graph[source].add(target)
        graph.setdefault(source, set())
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_folders():
    graph = folder_graph()
    assert {"engine", "rundir", "readers", "transforms", "report", "cli", "lexicons"} <= set(graph)
    assert _cycle(graph) is None, f"folders import each other in a cycle: {' -> '.join(_cycle(graph) or [])}"


def test_the_package_root_imports_no_folder_but_its_own_leaves():
    """Root modules are below every folder (shared types); only the entry points sit above them."""
    entry_points = {"api.py", "__main__.py"}
    for path in PACKAGE.glob("*.py"):
        if path.name in entry_points:
            continue
        folders = {_folder(name) for name in _imports(path)} - {ROOT}
        assert not folders, f"{path.name} (a shared root module) imports {sorted(folders)}"


@pytest.mark.parametrize("reader, forbidden", [("report", {"engine", "cli"}), ("rundir", {"engine", "cli", "report"}),
                                               ("readers", {"engine", "cli", "report", "rundir", "transforms"}),
                                               ("transforms", {"engine", "cli", "report", "rundir"})])
def test_lower_folders_import_no_upper_one(reader, forbidden):
    assert not folder_graph()[reader] & forbidden


def test_no_function_over_the_limit():
    too_long = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = node.end_lineno - start + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({length} lines)")
    assert not too_long, "functions over the limit: " + "; ".join(too_long)



#: The modules that may create, write or rename files: every other write goes through them.
WRITERS = {"storage.py", "rundir/lock.py"}


def _writes(tree: ast.AST) -> list[int]:
    """Lines of ``tree`` that open a file for writing or create, rename or replace one directly."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
        if name == "open" and owner in ("", "io", "builtins"):
            modes = [a for a in node.args[1:2]] + [k.value for k in node.keywords if k.arg == "mode"]
            if any(isinstance(m, ast.Constant) and isinstance(m.value, str) and set(m.value) & set("wax+")
                   for m in modes):
                lines.append(node.lineno)
        elif owner == "os" and name in ("replace", "rename", "fdopen", "link", "symlink"):
            lines.append(node.lineno)
        elif name in ("write_text", "write_bytes") and owner != "storage":
            if isinstance(func, ast.Attribute) and not isinstance(func.value, ast.Name):
                lines.append(node.lineno)  # Path(...).write_text(...)
    return lines


def test_every_file_write_goes_through_storage() -> None:
    direct = []
    for path in _modules():
        relative = str(path.relative_to(PACKAGE))
        if relative in WRITERS:
            continue
        direct += [f"{relative}:{line}" for line in _writes(ast.parse(path.read_text(encoding="utf-8")))]
    assert not direct, "files written outside corpus_audit.storage: " + ", ".join(direct)


def test_the_write_finder_finds_writes() -> None:
    source = "import os\nopen(p, 'wb')\nopen(p)\nos.replace(a, b)\nPath(p).write_text('x')\nopen(p, mode='a')\n"
    assert _writes(ast.parse(source)) == [2, 4, 5, 6]
