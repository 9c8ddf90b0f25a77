"""The import graph of importops: layers that only point down, and no cycle.

Every import counts, including those inside functions: an import placed in a function to
dodge a cycle is still a dependency a reader has to know about.
"""

from __future__ import annotations

import ast
from pathlib import Path

import importops

ROOT = Path(importops.__file__).parent

#: Top to bottom. A module may import its own layer or a lower one, never a higher one.
LAYERS: list[tuple[str, set[str]]] = [
    ("entry points", {"api", "admin", "management", "tasks", "urls", "owned_urls", "apps", "checks", "middleware"}),
    ("services", {"services"}),
    ("importers and the user adapter", {"importers", "users", "staged", "validation", "fieldchecks"}),
    ("models", {"models", "migrations", "bulk"}),
    (
        "core",
        {"conf", "states", "errors", "compat", "signals", "timestamps", "retry", "jsonsafe", "folding", "__init__"},
    ),
]
#: Entry points are independent of one another, except that all may queue tasks.
ENTRY_POINTS = {"api", "admin", "management", "middleware"}


def module_name(path: Path) -> str:
    parts = ["importops", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


def resolve(name: str) -> str | None:
    """The importops module ``name`` refers to (a name imported from a module is that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from importops.a import b" imports module importops.a.b if there is one, else importops.a.
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = resolve(name) if name.startswith("importops") else None
            if target and target != module:
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def part(module: str) -> str:
    """The top-level part of importops a module belongs to: ``api``, ``users``, ..."""
    return module.split(".")[1] if "." in module else "__init__"


def layer(module: str) -> int:
    for index, (_, parts) in enumerate(LAYERS):
        if part(module) in parts:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__name__}")


def test_every_module_has_a_layer():
    for module in MODULES:
        layer(module)


def test_no_import_points_up():
    upward = [
        f"{module} ({LAYERS[layer(module)][0]}) imports {target} ({LAYERS[layer(target)][0]})"
        for module, targets in GRAPH.items()
        for target in targets
        if layer(target) < layer(module)
    ]
    assert upward == []


def test_entry_points_do_not_import_one_another():
    crossing = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if part(module) in ENTRY_POINTS and part(target) in ENTRY_POINTS and part(target) != part(module)
    ]
    assert crossing == []


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    assert cycles(GRAPH) == []


def test_the_checks_can_fail():
    """The graph is really read: known edges are there, and a planted cycle or upward import is caught."""
    assert "importops.services.running" in GRAPH["importops.tasks"]
    assert "importops.validation" in GRAPH["importops.importers.jsonl"]
    model = "importops.models.operation"
    planted = {**GRAPH, model: {*GRAPH[model], "importops.services.staging"}}
    assert cycles(planted) != []
    assert layer("importops.services.staging") < layer("importops.models.operation")
