"""The layers of ARCHITECTURE.md, enforced: every import of the package, function-level and
``TYPE_CHECKING`` ones included, is read with ``ast`` and checked against the rules there.

- ``pixelmock.emulators``: ``config`` -> ``core`` -> ``web`` -> ``providers`` | ``admin`` -> ``app`` (and
  the package itself) -> ``tools``; a module imports its own layer or those below it, never above.
- ``core`` and ``config`` import no Flask, and Werkzeug only for type annotations.
- A provider never imports another provider (``providers.base`` and the package are shared); ``admin``
  and ``providers`` never import each other; nothing outside ``tools`` imports ``tools``.
- ``contracts`` imports no Flask, Werkzeug or httpx and nothing of ``emulators`` or ``client``;
  ``client`` and ``emulators`` never import each other.
- No import circle, and at most four modules at the top of ``emulators/`` beside its sub-packages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from paths import ROOT

PACKAGES = ("contracts", "emulators", "client")
#: The layers of ``pixelmock.emulators``, lowest first; modules of one rank may import each other.
RANKS = {"config": 0, "core": 1, "web": 2, "providers": 3, "admin": 3, "app": 4, "tools": 5}
#: Shared modules of the providers layer any provider may import.
SHARED_PROVIDER_MODULES = ("pixelmock.emulators.providers", "pixelmock.emulators.providers.base")


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` (a module of the package, or a third-party top-level name) at
    ``line``; ``typing``: only under ``if TYPE_CHECKING``."""

    source: str
    target: str
    line: int
    typing: bool

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line}{', TYPE_CHECKING' if self.typing else ''})"


@cache
def modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    found = {"pixelmock": ROOT / "__init__.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(("pixelmock", *parts)).removesuffix(".__init__")
            found[name] = path
    return found


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _resolve(name: str) -> str:
    """The package module ``name`` is or is inside (``from m import f``: ``m.f`` is ``m``), else its
    top-level name (a third-party or standard library import)."""
    if not name.startswith("pixelmock"):
        return name.partition(".")[0]
    while name not in modules():
        name = name.rpartition(".")[0]
    return name


@cache
def edges() -> tuple[Edge, ...]:
    """Every import of every module of the package."""
    found = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_lines = _type_checking_lines(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                resolved = _resolve(target)
                if resolved != name:
                    found.append(Edge(name, resolved, node.lineno, node.lineno in typing_lines))
    return tuple(found)


def _area(module: str) -> tuple[str, str | None]:
    """``(top package, emulators layer)``: e.g. ``("emulators", "core")``; the ``pixelmock`` root and
    ``pixelmock.emulators`` itself (which serves ``create_app``) are ``("pixelmock", None)`` and
    ``("emulators", "app")``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "pixelmock", None
    if parts[1] != "emulators":
        return parts[1], None
    return "emulators", parts[2] if len(parts) > 2 else "app"


def _violations() -> Iterator[str]:
    for edge in edges():
        source_top, source_layer = _area(edge.source)
        third_party = not edge.target.startswith("pixelmock")
        if source_top == "contracts" and third_party and edge.target in ("flask", "werkzeug", "httpx"):
            yield f"contracts import no web framework or HTTP client: {edge}"
        web_framework = edge.target == "flask" or (edge.target == "werkzeug" and not edge.typing)
        if source_layer in ("core", "config") and web_framework:
            yield f"{source_layer} reads no request state (Flask, Werkzeug only for types): {edge}"
        if third_party:
            continue
        target_top, target_layer = _area(edge.target)
        if source_top == "contracts" and target_top in ("emulators", "client"):
            yield f"contracts import nothing of emulators or client: {edge}"
        if {source_top, target_top} == {"emulators", "client"}:
            yield f"client and emulators never import each other: {edge}"
        if source_layer is None or target_layer is None:
            continue
        if target_layer == "tools" and source_layer != "tools":
            yield f"nothing imports tools: {edge}"
        elif RANKS[target_layer] > RANKS[source_layer]:
            yield f"{source_layer} imports a layer above it ({target_layer}): {edge}"
        elif {source_layer, target_layer} == {"providers", "admin"}:
            yield f"admin and providers never import each other: {edge}"
        if source_layer == target_layer == "providers" and edge.target not in SHARED_PROVIDER_MODULES:
            source_provider, target_provider = edge.source.split(".")[3:4], edge.target.split(".")[3:4]
            if source_provider and source_provider != target_provider:
                yield f"a provider never imports another provider: {edge}"


def circles() -> list[list[str]]:
    """Every set of package modules that import each other (Tarjan's strongly connected components)."""
    graph: dict[str, set[str]] = {}
    for edge in edges():
        if edge.target.startswith("pixelmock"):
            graph.setdefault(edge.source, set()).add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(modules()):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_deferred_and_type_only_imports() -> None:
    """The oracle reads what it must: a function-level import and a ``TYPE_CHECKING`` one are edges."""
    found = {str(edge) for edge in edges()}
    assert any("pixelmock.emulators.core.store -> pixelmock.emulators.core.store.redis" in e for e in found)
    assert any("TYPE_CHECKING" in e and e.startswith("pixelmock.emulators.core.exchange") for e in found)
    assert len(modules()) > 80


def test_every_import_follows_the_layers() -> None:
    assert list(_violations()) == []


def test_no_module_imports_itself_through_others() -> None:
    assert circles() == []


def test_emulators_top_level_holds_at_most_four_modules() -> None:
    top = sorted(p.name for p in (ROOT / "emulators").glob("*.py"))
    assert len(top) <= 4, top
