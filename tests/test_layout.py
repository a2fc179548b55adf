"""The code's shape: no import circles, no private name imported from another module.

Read from the source with `ast`, lazy imports inside functions included: a circle
broken by a lazy import is still a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("spiders", "webapp")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> list[tuple[str, list[str]]]:
    """(module imported, names taken from it) for every import in the file."""
    package = path.relative_to(ROOT).parts[:-1]
    result = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            result += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            names = [alias.name for alias in node.names]
            result += [(f"{module}.{name}", []) for name in names if f"{module}.{name}" in known]
            result.append((module, [name for name in names if f"{module}.{name}" not in known]))
    return [(module, names) for module, names in result if module in known]


def test_no_module_imports_a_private_name_of_another():
    known = modules()
    offences = [f"{name}: from {module} import {taken}"
                for name, path in known.items() for module, names in imports(path, known)
                for taken in names if taken.startswith("_") and module != name]
    assert offences == []


def test_there_are_no_import_circles():
    known = modules()
    graph = {name: {module for module, _ in imports(path, known) if module != name} for name, path in known.items()}
    # a package's __init__ importing its own modules is not a circle through them
    circles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                circles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []
