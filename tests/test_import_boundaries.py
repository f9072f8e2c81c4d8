"""The import arrows of STYLE.md: the domain stands alone; nothing imports the API."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "o2c"
STDLIB = sys.stdlib_module_names


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    """Runtime imports (those under ``if TYPE_CHECKING:`` only name types for mypy)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                 for n in ast.walk(block)}
    found = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _violations() -> list[str]:
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module(path)
        for imported in _imports(path):
            top = imported.split(".")[0]
            if module.startswith("o2c.domain"):
                allowed = (top in STDLIB or imported in ("eventsourcing.domain",)
                           or imported.startswith("o2c.domain"))
                if not allowed:
                    problems.append(f"{module} imports {imported}: the domain may import only "
                                    "the standard library and eventsourcing.domain")
            if imported.startswith("o2c.api") and not module.startswith("o2c.api"):
                problems.append(f"{module} imports {imported}: nothing may import the API")
            if module.startswith("o2c.projections") and imported.startswith(
                    ("o2c.cli", "o2c.application")):
                problems.append(f"{module} imports {imported}: projections read the log only")
            if module == "o2c.application" and imported.startswith(
                    ("o2c.projections", "o2c.cli")):
                problems.append(f"{module} imports {imported}: the use cases stand below "
                                "projections and the CLI")
    return problems


def test_import_arrows() -> None:
    assert _violations() == []


def test_the_check_sees_imports() -> None:
    """The walker itself finds imports (else the test above would pass vacuously)."""
    imports = _imports(SRC / "domain" / "sales_order.py")
    assert "eventsourcing.domain" in imports
    assert "o2c.domain.money" in imports or "o2c.domain" in imports
    assert any(i.startswith("fastapi") for i in _imports(SRC / "api" / "__init__.py"))
