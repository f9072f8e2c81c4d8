"""Commands for the books: reports, the beancount export and journal entries."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from o2c.application import Context
from o2c.cli.common import (
    err,
    fail,
    open_reader,
    out,
    read_models,
    reading,
    refused,
    writing,
)
from o2c.cli.render import Format, ReportName, print_report

if TYPE_CHECKING:
    from o2c.projections import Projector

export_cli = typer.Typer(help="Export the books.", no_args_is_help=True)
journal_cli = typer.Typer(help="Journal entries.", no_args_is_help=True)


def compute_report(projector: Projector, name: ReportName, as_of: date | None = None,
                   known_at: datetime | None = None, *, account: str | None = None,
                   start: date | None = None, end: date | None = None,
                   monthly: bool = False) -> dict[str, Any]:
    """Computes one report from the projector's read models (as they are: the caller
    brings them up to date, ``common.read_models``)."""
    from o2c.projections import ledger_reports, reports

    db, places = projector.db, projector.settings.places
    if name is ReportName.pipeline:
        return reports.pipeline(db, places, stale_days=projector.settings.stale_days)
    if name is ReportName.inventory:
        return reports.inventory(db, places)
    if name is ReportName.trial_balance:
        if start is not None or end is not None or monthly:
            return ledger_reports.trial_balance_range(db, places, start=start, end=end,
                                                      known_at=known_at, monthly=monthly)
        return reports.trial_balance(db, places, as_of=as_of, known_at=known_at)
    if name is ReportName.ledger:
        assert account is not None
        return ledger_reports.ledger(db, places, account, start=start, end=end,
                                     known_at=known_at, limit=None)
    if name is ReportName.pnl:
        return ledger_reports.profit_and_loss(db, places, start=start, end=end,
                                              known_at=known_at, monthly=monthly)
    if name is ReportName.balance_sheet:
        return ledger_reports.balance_sheet(db, places, as_of=as_of, known_at=known_at)
    return reports.ar_aging(db, places, as_of=as_of)


_KNOWN_AT = {ReportName.trial_balance, ReportName.ledger, ReportName.pnl,
             ReportName.balance_sheet}
_AS_OF = {ReportName.trial_balance, ReportName.ar_aging, ReportName.balance_sheet}
_RANGE = {ReportName.trial_balance, ReportName.ledger, ReportName.pnl}
_MONTHLY = {ReportName.trial_balance, ReportName.pnl}


def _names(names: set[ReportName]) -> str:
    return ", ".join(sorted(n.value for n in names))


def _check_usage(name: ReportName, account: str | None, as_of: date | None,
                 known: datetime | None, start: date | None, end: date | None,
                 monthly: bool) -> None:
    """Refuses options the report does not take (exit 2, one line)."""
    if (account is None) != (name is not ReportName.ledger):
        raise fail("the ledger report needs an ACCOUNT (o2c report ledger 1000)"
                   if account is None else f"{name.value} takes no ACCOUNT argument")
    if known is not None and name not in _KNOWN_AT:
        raise fail(f"--known-at applies to {_names(_KNOWN_AT)}")
    if as_of is not None and name not in _AS_OF:
        raise fail(f"--as-of applies to {_names(_AS_OF)}")
    if (start is not None or end is not None) and name not in _RANGE:
        raise fail(f"--from/--to apply to {_names(_RANGE)}")
    if monthly and name not in _MONTHLY:
        raise fail(f"--monthly applies to {_names(_MONTHLY)}")
    if as_of is not None and (start is not None or end is not None or monthly):
        raise fail("give --as-of or --from/--to, not both (--to is the range's as-of)")
    if start is not None and end is not None and start > end:
        raise fail(f"--from {start} is after --to {end}")


def report(
    name: Annotated[ReportName, typer.Argument(help="Which report.")],
    account: Annotated[str | None, typer.Argument(
        help="The account code (the ledger report only).", show_default=False)] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Effective date (YYYY-MM-DD): postings on or before it.")] = None,
    known_at: Annotated[str | None, typer.Option(
        "--known-at", help="Recording time (ISO 8601): only what was recorded by then.")] = None,
    start: Annotated[str | None, typer.Option(
        "--from", help="First effective date (YYYY-MM-DD) of the range (ledger, pnl, "
                       "trial-balance); the beginning when omitted.")] = None,
    end: Annotated[str | None, typer.Option(
        "--to", help="Last effective date of the range; today when omitted.")] = None,
    monthly: Annotated[bool, typer.Option(
        "--monthly", help="Also per calendar month (pnl, trial-balance).")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """Prints a report, optionally as of a date and as known at a time; the ledger,
    P&L and trial balance also for a date range (--from/--to) and per month."""
    try:
        as_of_date = date.fromisoformat(as_of) if as_of else None
        known = datetime.fromisoformat(known_at) if known_at else None
        start_date = date.fromisoformat(start) if start else None
        end_date = date.fromisoformat(end) if end else None
    except ValueError as error:
        raise fail(f"bad date: {error}") from None
    _check_usage(name, account, as_of_date, known, start_date, end_date, monthly)
    app, writable = open_reader()
    try:
        projector = read_models(app, writable)
        with reading(writable), refused():  # an unknown account: exit 2, one line
            computed = compute_report(projector, name, as_of_date, known, account=account,
                                      start=start_date, end=end_date, monthly=monthly)
    finally:
        app.close()
    print_report(name, computed, fmt)


@contextlib.contextmanager
def replacing(output: Path) -> Iterator[IO[str]]:
    """A file that takes ``output``'s place only once it is written whole: a temporary
    file beside it, renamed over it (a kill mid-write leaves the old file). Any file
    error is exit 2 with one line."""
    if output.is_dir():
        raise fail(f"cannot write {output}: it is a directory")
    folder = output.absolute().parent
    for path, what in ((output, "the file is read-only"), (folder, "its folder is read-only")):
        # Write permission for this process, and for someone at all: root may write
        # through a chmod 444, but whoever made it read-only meant it.
        if path.exists() and not (os.access(path, os.W_OK) and path.stat().st_mode & 0o222):
            raise fail(f"cannot write {output}: {what}")
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, or removed
            "w", encoding="utf-8", dir=folder,
            prefix=f".{output.name}.", suffix=".tmp", delete=False)
    except OSError as error:
        raise fail(f"cannot write {output}: {error.strerror or error}") from None
    temporary = Path(handle.name)
    try:
        with handle:
            yield handle
        umask = os.umask(0)
        os.umask(umask)
        try:
            os.chmod(temporary, 0o666 & ~umask)  # as if opened plainly, not 0600
            os.replace(temporary, output)
        except OSError as error:
            raise fail(f"cannot write {output}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)


@export_cli.command("beancount")
def export_beancount(output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write (standard output when omitted).")] = None) -> None:
    """Writes the ledger as a beancount journal (one transaction per journal entry)."""
    from o2c.export import beancount

    with contextlib.ExitStack() as stack:
        handle = sys.stdout if output is None else stack.enter_context(replacing(output))
        app, writable = open_reader()
        stack.callback(app.close)
        read_models(app, writable, ["trial_balance"])  # the journal is the projected postings
        with reading(writable):
            for line in beancount(app.db, app.settings.currency):
                handle.write(line + "\n")
    if output is not None:
        err.print(f"wrote {output}", markup=False, highlight=False)


@journal_cli.command("post")
def journal_post(memo: Annotated[str, typer.Option(help="What the entry is for.")],
                 line: Annotated[list[str], typer.Option(
                     help="ACCOUNT:debit:AMOUNT or ACCOUNT:credit:AMOUNT (repeat).")],
                 date: Annotated[str | None, typer.Option(
                     help="Effective date (YYYY-MM-DD); today when omitted.")] = None) -> None:
    """Posts a manual journal entry (it must balance)."""
    lines = []
    for spec in line:
        account, side, amount = [*spec.split(":"), "", ""][:3]
        if side not in ("debit", "credit"):
            raise fail(f"bad --line {spec!r}: use ACCOUNT:debit:AMOUNT or ACCOUNT:credit:AMOUNT")
        lines.append({"account": account, side: amount})
    with writing() as app:
        result = app.post_journal_entry(Context(actor="cli"), memo, lines, date)
    out.print(f"posted entry {result.id} at position {result.position}")


@journal_cli.command("reverse")
def journal_reverse(entry_id: Annotated[str, typer.Argument(help="The entry to undo.")],
                    date: Annotated[str | None, typer.Option(
                        help="Effective date of the reversal; today when omitted.")] = None
                    ) -> None:
    """Reverses a journal entry in an open period."""
    with writing() as app:
        result = app.reverse_journal_entry(Context(actor="cli"), entry_id, date=date)
    out.print(f"posted reversal {result.id} at position {result.position}")
