"""What every command shares: the consoles, one-line failures, settings, the store,
and a standard output that may close early (``o2c demo | head -1``).

Commands that write open the store with ``open_app`` (creating it if it does not
exist, refusing a read-only one); commands that only read use ``open_reader``,
which never creates a store and opens a read-only SQLite file read-only, and
``read_models``, which brings the read models up to date where it may write and
otherwise says on stderr how far behind the log they are.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError
from rich.console import Console

from o2c.bootstrap import (
    StoreMissing,
    StoreReadOnly,
    build_app,
    check_store_url,
    open_existing,
)
from o2c.config import Settings
from o2c.domain.errors import O2CError

if TYPE_CHECKING:
    from o2c.application import O2C
    from o2c.projections import Projector

#: The exit status when standard output was closed before the command finished (what a
#: shell reports for a process killed by SIGPIPE, 128 + 13): the command still did its
#: work (the demo is recorded whole), only its output was cut short.
EXIT_STDOUT_CLOSED = 141


class Output:
    """Whether standard output is still open."""

    closed = False


def stdout_closed() -> None:
    """Standard output's reader went away (``| head``): what is still printed goes to
    /dev/null, so the command can finish its work, and it exits with
    ``EXIT_STDOUT_CLOSED``."""
    Output.closed = True
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor (captured in tests)
        pass


class _Console(Console):
    """rich's console, except that a closed standard output does not end the process:
    rich's own ``on_broken_pipe`` raises ``SystemExit(1)``, which stopped ``o2c demo |
    head -1`` in the middle of the story."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        stdout_closed()


out = _Console(soft_wrap=True)
if not out.is_terminal:
    out.width = 160  # piped or captured: do not squeeze tables into 80 columns
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Prints a one-line reason to stderr and returns the exit to raise."""
    sys.stderr.write(f"o2c: {' '.join(message.split())}\n")
    return typer.Exit(code)


@contextmanager
def refused() -> Iterator[None]:
    """Turns a refused command into exit 2 with its one-line reason."""
    try:
        yield
    except O2CError as error:
        raise fail(f"{error.code}: {error.message}") from None


def say(line: str) -> None:
    """Prints a line of progress; a closed standard output does not stop the command."""
    if Output.closed:
        return
    try:
        out.print(line)
    except BrokenPipeError:
        stdout_closed()


def settings() -> Settings:
    """The settings from the environment, or exit 2 naming the bad one."""
    try:
        configured = Settings()
    except ValidationError as error:
        problem = error.errors()[0]
        name = "O2C_" + str(problem["loc"][0]).upper() if problem.get("loc") else "O2C_*"
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise fail(f"{name}: {message}") from None
    try:
        check_store_url(configured)
    except ValueError as error:
        text = str(error).splitlines()[0]
        raise fail(text if text.startswith("O2C_DATABASE_URL") else
                   f"O2C_DATABASE_URL: {text}") from None
    return configured


def _cannot_open(error: Exception) -> typer.Exit:
    text = str(error).splitlines()[0] if str(error) else ""
    if isinstance(error, O2CError):  # the store refused this configuration, saying why
        return fail(f"{error.code}: {text}")
    if isinstance(error, (ValueError, OSError)):
        return fail(f"cannot open the store: {text}")
    return fail(f"cannot open the store: {type(error).__name__}: {text}")


def open_app() -> O2C:
    """The application on the configured store, for a command that writes: the store is
    created if it does not exist; a read-only one, or any failure, is exit 2."""
    configured = settings()
    try:
        return build_app(configured)
    except StoreReadOnly as error:
        raise fail(str(error)) from None
    except Exception as error:  # any failure to open becomes a one-line reason
        raise _cannot_open(error) from None


@contextmanager
def writing() -> Iterator[O2C]:
    """``open_app`` for one command: the application, closed afterwards (so a SQLite
    store's write-ahead log is folded back into its file), refusals exit 2."""
    app = open_app()
    try:
        with refused():
            yield app
    finally:
        app.close()


def open_reader() -> tuple[O2C, bool]:
    """The application on the configured store, for a command that only reads, and
    whether it may write (the read models): exit 2 when there is no store (none is
    created); a read-only SQLite file is opened read-only."""
    configured = settings()
    try:
        return open_existing(configured)
    except StoreMissing as missing:
        raise fail(str(missing)) from None
    except Exception as error:  # any failure to open becomes a one-line reason
        raise _cannot_open(error) from None


def read_models(app: O2C, writable: bool, names: Sequence[str] | None = None,
                *, catch_up: bool = True) -> Projector:
    """The read models (``names``, or all), brought up to date when the store may be
    written; on a read-only store as they are, with a line on stderr saying how far
    behind the log they are (exit 2 if they were never built there)."""
    from o2c.projections import Projector

    if writable:
        projector = Projector(app.db, app.settings, names)
        if catch_up:
            projector.catch_up()
        return projector
    projector = Projector(app.db, app.settings, names, create_tables=False)
    try:
        status = projector.status()
    except Exception:  # no tracking table: nothing was ever projected here
        raise fail("the read models of this read-only store were never built (run "
                   "`o2c projections rebuild` on a writable copy)") from None
    behind = max((int(row["lag"]) for row in status), default=0)
    if behind and catch_up:  # asked for current read models, and they cannot be
        err.print(f"o2c: the store is read-only, so its read models cannot be brought up "
                  f"to date: shown as they are, {behind} event{'s' if behind != 1 else ''} "
                  f"behind the log (position "
                  f"{min(int(row['position']) for row in status)} of "
                  f"{status[0]['head']})", markup=False, highlight=False)
    return projector


@contextmanager
def reading(writable: bool) -> Iterator[None]:
    """Turns a read-model table missing from a read-only store into exit 2."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception:
        if writable:
            raise
        raise fail("the read models of this read-only store are incomplete (run "
                   "`o2c projections rebuild` on a writable copy)") from None


def open_projector(app: O2C, names: list[str] | None = None) -> Projector:
    """A projector of the application's database (creating read-model tables if missing)."""
    from o2c.projections import Projector

    return Projector(app.db, app.settings, names)
