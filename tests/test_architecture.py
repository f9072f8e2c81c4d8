"""The import arrows between o2c's layers, checked by walking every module with ``ast``.

- ``o2c.domain`` imports only the standard library, ``eventsourcing.domain`` and
  ``o2c.domain`` itself: no pydantic, FastAPI, psycopg, sqlite3, other parts of
  eventsourcing, nor any other part of o2c;
- every other part imports only the parts ``MAY_IMPORT`` lists for it: persistence
  nothing above the domain, the application and the projections not each other,
  the API not persistence, nothing the API or the CLI (but the bench the API);
- no o2c modules import each other round a loop;
- every module belongs to one of those parts.

Every import counts, wherever it is written: at module level, inside a function
(the CLI's lazy imports), under ``if TYPE_CHECKING:``, relative (``from ..api
import x``), as ``from o2c import api``, or as ``importlib.import_module("...")``
with a literal name.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "o2c"
STDLIB = frozenset(sys.stdlib_module_names)
# sqlite3 is in the standard library but is a database driver: the domain must not use it.
DOMAIN_FORBIDDEN_STDLIB = frozenset({"sqlite3"})


@dataclass(frozen=True)
class Import:
    """One import in one module: the module it names, and where."""

    module: str  # the importing module, e.g. "o2c.domain.lead"
    target: str  # the imported module, absolute, e.g. "eventsourcing.domain"
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module or package (not a name defined inside one)."""
    if name == "o2c" or name.startswith("o2c."):
        relative = PACKAGE.parent.joinpath(*name.split("."))
        return relative.with_suffix(".py").is_file() or (relative / "__init__.py").is_file()
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of ``from <dots><name> import ...`` written in ``module``."""
    if level == 0:
        return name or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports_of(module: str, source: str, *, path: str = "<string>",
               is_package: bool = False) -> list[Import]:
    """Every module ``source`` imports, each resolved to an absolute name."""
    found: list[Import] = []

    def add(target: str, node: ast.AST) -> None:
        found.append(Import(module, target, path, getattr(node, "lineno", 0)))

    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            for alias in node.names:
                # ``from o2c import api`` imports the module o2c.api; ``from o2c.api
                # import create_app`` imports o2c.api and takes a name from it.
                submodule = f"{base}.{alias.name}"
                add(submodule if alias.name != "*" and _is_module(submodule) else base, node)
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name)
                       and node.func.id in ("import_module", "__import__")))):
            add(node.args[0].value, node)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


#: Each part of o2c and the parts of o2c it may import (besides itself and libraries).
#: Lowest first: the domain; persistence (SQL, drivers, files) over it; the application
#: (use cases) and the projections (read models) beside each other over both; the
#: services that combine them (audit, auth, demo); the composition root; and the two
#: ways in (API, CLI) and the bench on top.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "o2c.domain": frozenset(),
    "o2c.config": frozenset({"o2c.domain"}),
    "o2c.persistence": frozenset({"o2c.domain"}),
    "o2c.application": frozenset({"o2c.domain", "o2c.config", "o2c.persistence"}),
    "o2c.projections": frozenset({"o2c.domain", "o2c.config", "o2c.persistence"}),
    "o2c.audit": frozenset({"o2c.domain", "o2c.config", "o2c.persistence", "o2c.application",
                            "o2c.projections"}),
    "o2c.auth": frozenset({"o2c.domain", "o2c.config", "o2c.persistence"}),
    "o2c.export": frozenset({"o2c.domain", "o2c.config", "o2c.persistence", "o2c.projections"}),
    "o2c.demo": frozenset({"o2c.domain", "o2c.config", "o2c.application"}),
    "o2c.bootstrap": frozenset({"o2c.domain", "o2c.config", "o2c.persistence",
                                "o2c.application", "o2c.projections", "o2c.auth"}),
    "o2c.api": frozenset({"o2c", "o2c.domain", "o2c.config", "o2c.application",
                          "o2c.projections", "o2c.audit", "o2c.auth", "o2c.bootstrap",
                          "o2c.web"}),
    # The web app: what the API may import (the API installs it; it reads the API's
    # roles and error table from the running app, never by importing the API).
    "o2c.web": frozenset({"o2c", "o2c.domain", "o2c.config", "o2c.application",
                          "o2c.projections", "o2c.audit", "o2c.auth", "o2c.bootstrap"}),
    "o2c.cli": frozenset({"o2c", "o2c.domain", "o2c.config", "o2c.persistence",
                          "o2c.application", "o2c.projections", "o2c.audit", "o2c.auth",
                          "o2c.demo", "o2c.export", "o2c.bootstrap", "o2c.bench"}),
    "o2c.bench": frozenset({"o2c", "o2c.domain", "o2c.config", "o2c.persistence",
                            "o2c.application", "o2c.projections", "o2c.bootstrap",
                            "o2c.auth", "o2c.api"}),
    "o2c": frozenset(),
}


def part_of(module: str) -> str | None:
    """The part of o2c a module belongs to (the longest matching entry of MAY_IMPORT)."""
    parts = [p for p in MAY_IMPORT if _within(module, p)]
    return max(parts, key=len) if parts else None


def broken_rules(imp: Import) -> list[str]:
    """Why this import is a wrong arrow (empty when it is allowed)."""
    module, target = imp.module, imp.target
    top = target.split(".")[0]
    problems = []
    if _within(module, "o2c.domain") and not (
            (top in STDLIB and top not in DOMAIN_FORBIDDEN_STDLIB)
            or _within(target, "eventsourcing.domain") or _within(target, "o2c.domain")):
        problems.append("the domain may import only the standard library, "
                        "eventsourcing.domain and o2c.domain")
    if top != "o2c":
        return problems
    source, wanted = part_of(module), part_of(target)
    if source is None or wanted is None:
        problems.append(f"{module if source is None else target} belongs to no part of "
                        "o2c: add it to MAY_IMPORT")
    elif wanted != source and wanted not in MAY_IMPORT[source]:
        problems.append(f"{source} may not import {wanted}")
    return problems


def cycles(imports: list[Import]) -> list[list[str]]:
    """Groups of o2c modules that import each other, directly or round a loop."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.target.startswith("o2c") and imp.target != imp.module:
            graph.setdefault(imp.module, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def all_imports() -> list[Import]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += imports_of(module_name(path), path.read_text(encoding="utf-8"),
                            path=str(path.relative_to(SRC.parent)),
                            is_package=path.name == "__init__.py")
    return found


def violations(imports: list[Import]) -> list[str]:
    return [f"{imp}: {why}" for imp in imports for why in broken_rules(imp)]


# The rules, on the real code ------------------------------------------------------------

def test_every_import_arrow_points_the_right_way() -> None:
    problems = violations(all_imports())
    assert not problems, "wrong import arrows:\n" + "\n".join(problems)


def test_no_modules_import_each_other_round_a_loop() -> None:
    found = cycles(all_imports())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_every_module_belongs_to_a_part() -> None:
    orphans = [module_name(p) for p in PACKAGE.rglob("*.py")
               if part_of(module_name(p)) in (None, "o2c") and module_name(p) != "o2c"]
    assert not orphans, f"modules outside every part of MAY_IMPORT: {orphans}"


def test_the_walk_covers_every_layer() -> None:
    """Guards against a vacuous pass: the walk sees every layer and their real imports."""
    imports = all_imports()
    modules = {imp.module for imp in imports}
    for layer in ("o2c.domain.sales_order", "o2c.application.orders", "o2c.persistence.sql",
                  "o2c.projections.reports", "o2c.api", "o2c.bootstrap"):
        assert layer in modules
    pairs = {(imp.module, imp.target) for imp in imports}
    assert ("o2c.domain.lead", "eventsourcing.domain") in pairs
    assert ("o2c.domain.lead", "o2c.domain.values") in pairs  # `from o2c.domain import values`
    assert ("o2c.application.ledger", "o2c.domain.journal_entry") in pairs
    assert ("o2c.application.engine", "eventsourcing.persistence") in pairs
    assert ("o2c.bootstrap", "o2c.persistence.connection") in pairs
    assert any(m == "o2c.api" and t == "fastapi" for m, t in pairs)
    with_imports = {module_name(path) for path in PACKAGE.rglob("*.py")
                    if "import " in path.read_text(encoding="utf-8")}
    assert with_imports <= modules


def test_a_loop_of_imports_is_found() -> None:
    made_up = [*imports_of("o2c.bench.harness", "from o2c.bench.http import run"),
               *imports_of("o2c.bench.http", "def f():\n    from o2c.bench import harness"),
               *imports_of("o2c.bench.raw", "from o2c.bench import harness")]
    assert cycles(made_up) == [["o2c.bench.harness", "o2c.bench.http"]]


# The checker, on made-up modules: each wrong arrow is caught and named --------------------

@pytest.mark.parametrize(("module", "source", "culprit"), [
    ("o2c.domain.lead", "import pydantic", "pydantic"),
    ("o2c.domain.lead", "from fastapi import HTTPException", "fastapi"),
    ("o2c.domain.lead", "import psycopg", "psycopg"),
    ("o2c.domain.lead", "import sqlite3", "sqlite3"),
    ("o2c.domain.lead", "from eventsourcing.persistence import Transcoding",
     "eventsourcing.persistence"),
    ("o2c.domain.lead", "from eventsourcing.application import Application",
     "eventsourcing.application"),
    ("o2c.domain.lead", "import eventsourcing.sqlite", "eventsourcing.sqlite"),
    ("o2c.domain.lead", "from o2c.config import Settings", "o2c.config"),
    ("o2c.domain.lead", "from ..persistence.audit_rows import dumps",
     "o2c.persistence.audit_rows"),
    ("o2c.domain.lead", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                        "    from o2c.application import O2C", "o2c.application"),
    ("o2c.domain.lead", "def f():\n    import pydantic_settings", "pydantic_settings"),
    ("o2c.persistence.sql", "from o2c.api import create_app", "o2c.api"),
    ("o2c.persistence.sql", "from o2c.application import O2C", "o2c.application"),
    ("o2c.persistence.log", "from o2c.config import Settings", "o2c.config"),
    ("o2c.api.routes.audit", "from o2c.persistence import log", "o2c.persistence.log"),
    ("o2c.api.deps", "from o2c.persistence.sql import Database", "o2c.persistence.sql"),
    ("o2c.projections.reports", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                "    from o2c.application import O2C", "o2c.application"),
    ("o2c.projections.projector", "def f():\n    from o2c.bootstrap import build_app",
     "o2c.bootstrap"),
    ("o2c.cli", "from o2c import api", "o2c.api"),
    ("o2c.cli", "import importlib\napp = importlib.import_module('o2c.api')", "o2c.api"),
    ("o2c.projections.runner", "from o2c.api.deps import AppDep", "o2c.api.deps"),
    ("o2c.projections.runner", "from ..cli import cli", "o2c.cli"),
    ("o2c.projections.runner", "def f():\n    from o2c import cli", "o2c.cli"),
    ("o2c.application", "from o2c.projections import Projector", "o2c.projections"),
    ("o2c.application", "from .projections.reports import pipeline", "o2c.projections.reports"),
    ("o2c.application", "import o2c.cli", "o2c.cli"),
    ("o2c.application", "from o2c.api.errors import status_for", "o2c.api.errors"),
])
def test_a_wrong_arrow_is_reported_with_module_and_import(module: str, source: str,
                                                          culprit: str) -> None:
    problems = violations(imports_of(module, source, path="made_up.py"))
    assert problems, f"{module}: {source!r} was not caught"
    assert any(f"{module} imports {culprit}:" in p for p in problems), problems


@pytest.mark.parametrize(("module", "source"), [
    ("o2c.domain.lead", "from __future__ import annotations\nimport re\n"
                        "from decimal import Decimal\nfrom uuid import UUID"),
    ("o2c.domain.lead", "from eventsourcing.domain import Aggregate, event"),
    ("o2c.domain.lead", "from eventsourcing import domain"),
    ("o2c.domain.lead", "from o2c.domain import money, values\nfrom .errors import O2CError"),
    ("o2c.domain", "from .lead import Lead"),  # relative to the package itself
    ("o2c.api.routes.leads",
     "from o2c.api.deps import AppDep\nfrom ..schemas.leads import LeadPublic"),
    ("o2c.api", "from o2c.application import O2C\nfrom o2c.projections import Projector"),
    ("o2c.projections.projector",
     "from o2c.persistence.sql import Database\nfrom o2c.domain import Lead"),
    ("o2c.application.runner",
     "from o2c.domain.lead import Lead\nfrom o2c.persistence.audit_rows import dumps"),
    ("o2c.persistence.log", "from o2c.domain.money import from_minor"),
    ("o2c.cli", "from o2c.application import O2C\nfrom o2c.projections import reports"),
])
def test_a_right_arrow_passes(module: str, source: str) -> None:
    assert violations(imports_of(module, source, is_package=module == "o2c.domain")) == []


def test_relative_imports_resolve_against_the_importing_module() -> None:
    [imp] = imports_of("o2c.projections.runner", "from ..domain.lead import Lead")
    assert imp.target == "o2c.domain.lead"
    [imp] = imports_of("o2c.domain", "from . import lead", is_package=True)
    assert imp.target == "o2c.domain.lead"
    [imp] = imports_of("o2c.domain.lead", "from . import values")
    assert imp.target == "o2c.domain.values"
