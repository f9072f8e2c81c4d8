"""What every command shares: the consoles, one-line failures, settings, the store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError
from rich.console import Console

from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.errors import O2CError

if TYPE_CHECKING:
    from o2c.application import O2C
    from o2c.projections import Projector

out = Console(soft_wrap=True)
if not out.is_terminal:
    out.width = 160  # piped or captured: do not squeeze tables into 80 columns
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Prints a one-line reason to stderr and returns the exit to raise."""
    sys.stderr.write(f"o2c: {message}\n")
    return typer.Exit(code)


@contextmanager
def refused() -> Iterator[None]:
    """Turns a refused command into exit 2 with its one-line reason."""
    try:
        yield
    except O2CError as error:
        raise fail(f"{error.code}: {error.message}") from None


def settings() -> Settings:
    """The settings from the environment, or exit 2 naming the bad one."""
    try:
        return Settings()
    except ValidationError as error:
        problem = error.errors()[0]
        name = "O2C_" + str(problem["loc"][0]).upper() if problem.get("loc") else "O2C_*"
        raise fail(f"{name}: {problem['msg']}") from None


def open_app() -> O2C:
    """The application on the configured store, or exit 2 with the reason."""
    configured = settings()
    try:
        return build_app(configured)
    except (ValueError, OSError) as error:
        raise fail(f"cannot open the store: {str(error).splitlines()[0]}") from None
    except Exception as error:
        raise fail(f"cannot open the store: {type(error).__name__}: "
                   f"{str(error).splitlines()[0] if str(error) else ''}") from None


def open_projector(app: O2C, names: list[str] | None = None) -> Projector:
    """A projector of the application's database (creating read-model tables if missing)."""
    from o2c.projections import Projector

    return Projector(app.db, app.settings, names)
