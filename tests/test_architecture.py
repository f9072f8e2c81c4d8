"""The import arrows between o2c's layers, checked by walking every module with ``ast``.

- ``o2c.domain`` imports only the standard library, ``eventsourcing.domain`` and
  ``o2c.domain`` itself: no pydantic, FastAPI, psycopg, sqlite3, other parts of
  eventsourcing, nor any other part of o2c;
- nothing outside ``o2c.api`` imports ``o2c.api``;
- ``o2c.projections`` imports neither ``o2c.api`` nor ``o2c.cli``;
- ``o2c.application`` imports neither projections, the API nor the CLI.

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
    # The benchmark harness measures the API from outside, as the tests do: it is the
    # one other package allowed to build it.
    if _within(target, "o2c.api") and not (_within(module, "o2c.api")
                                           or _within(module, "o2c.bench")):
        problems.append("nothing outside o2c.api (but the bench harness) may import o2c.api")
    if _within(module, "o2c.projections") and (
            _within(target, "o2c.api") or _within(target, "o2c.cli")):
        problems.append("projections may not import the API or the CLI")
    if _within(module, "o2c.application") and any(
            _within(target, layer) for layer in ("o2c.projections", "o2c.api", "o2c.cli")):
        problems.append("the application may not import projections, the API or the CLI")
    return problems


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


def test_the_walk_covers_every_layer() -> None:
    """Guards against a vacuous pass: the walk sees every layer and their real imports."""
    imports = all_imports()
    modules = {imp.module for imp in imports}
    for layer in ("o2c.domain.sales_order", "o2c.application", "o2c.projections.models",
                  "o2c.api", "o2c.cli", "o2c.store"):
        assert layer in modules
    pairs = {(imp.module, imp.target) for imp in imports}
    assert ("o2c.domain.lead", "eventsourcing.domain") in pairs
    assert ("o2c.domain.lead", "o2c.domain.values") in pairs  # `from o2c.domain import values`
    assert ("o2c.application", "o2c.domain.journal_entry") in pairs
    assert ("o2c.application", "eventsourcing.persistence") in pairs
    assert ("o2c.projections.models", "o2c.domain.sales_order") in pairs
    assert ("o2c.cli", "o2c.projections") in pairs  # a lazy import inside a command
    assert ("o2c.projections.reports", "o2c.application") in pairs  # under TYPE_CHECKING
    assert any(m == "o2c.api" and t == "fastapi" for m, t in pairs)
    with_imports = {module_name(path) for path in PACKAGE.rglob("*.py")
                    if "import " in path.read_text(encoding="utf-8")}
    assert with_imports <= modules


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
    ("o2c.domain.lead", "from ..store import dumps", "o2c.store"),
    ("o2c.domain.lead", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                        "    from o2c.application import O2C", "o2c.application"),
    ("o2c.domain.lead", "def f():\n    import pydantic_settings", "pydantic_settings"),
    ("o2c.store", "from o2c.api import create_app", "o2c.api"),
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
    ("o2c.api.routes.leads", "from o2c.api.deps import AppDep\nfrom ..models import LeadPublic"),
    ("o2c.api", "from o2c.application import O2C\nfrom o2c.projections import Projector"),
    ("o2c.projections.runner", "from o2c.store import Database\nfrom o2c.domain import Lead"),
    ("o2c.application", "from o2c.domain.lead import Lead\nfrom o2c.store import dumps"),
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
