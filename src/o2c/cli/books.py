"""Commands for the books: reports, the beancount export, periods and journal entries."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from o2c.application import Context
from o2c.cli.common import err, fail, open_app, open_projector, out, refused
from o2c.cli.render import Format, ReportName, print_report

if TYPE_CHECKING:
    from o2c.projections import Projector

export_cli = typer.Typer(help="Export the books.", no_args_is_help=True)
periods_cli = typer.Typer(help="Accounting periods.", no_args_is_help=True)
journal_cli = typer.Typer(help="Journal entries.", no_args_is_help=True)


def compute_report(projector: Projector, name: ReportName, as_of: date | None = None,
                   known_at: datetime | None = None) -> dict[str, Any]:
    """Brings the read models up to date and computes one report."""
    from o2c.projections import reports

    projector.catch_up()
    db, places = projector.db, projector.settings.places
    if name is ReportName.pipeline:
        return reports.pipeline(db, places)
    if name is ReportName.inventory:
        return reports.inventory(db, places)
    if name is ReportName.trial_balance:
        return reports.trial_balance(db, places, as_of=as_of, known_at=known_at)
    return reports.ar_aging(db, places, as_of=as_of)


def report(
    name: Annotated[ReportName, typer.Argument(help="Which report.")],
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Effective date (YYYY-MM-DD): postings on or before it.")] = None,
    known_at: Annotated[str | None, typer.Option(
        "--known-at", help="Recording time (ISO 8601): only what was recorded by then.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """Prints a report, optionally as of a date and as known at a time."""
    try:
        as_of_date = date.fromisoformat(as_of) if as_of else None
        known = datetime.fromisoformat(known_at) if known_at else None
    except ValueError as error:
        raise fail(f"bad date: {error}") from None
    if known is not None and name is not ReportName.trial_balance:
        raise fail("--known-at applies to the trial balance")
    if as_of_date is not None and name in (ReportName.pipeline, ReportName.inventory):
        raise fail("--as-of applies to the trial balance and the AR aging")
    app = open_app()
    print_report(name, compute_report(open_projector(app), name, as_of_date, known), fmt)


@export_cli.command("beancount")
def export_beancount(output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write (standard output when omitted).")] = None) -> None:
    """Writes the ledger as a beancount journal (one transaction per journal entry)."""
    from o2c.export import beancount

    app = open_app()
    open_projector(app, ["trial_balance"]).catch_up()  # the journal is the projected postings
    if output is None:
        for line in beancount(app.db, app.settings.currency):
            sys.stdout.write(line + "\n")
        return
    with output.open("w", encoding="utf-8") as handle:
        for line in beancount(app.db, app.settings.currency):
            handle.write(line + "\n")
    err.print(f"wrote {output}")


@periods_cli.command("close")
def periods_close(through: Annotated[str, typer.Option(help="Close every period through "
                                                              "this date (YYYY-MM-DD).")],
                  note: Annotated[str, typer.Option(help="Why, or by whom.")] = "") -> None:
    """Closes the books through a date: postings dated in it are then refused."""
    with refused():
        result = open_app().close_period(Context(actor="cli"), through, note)
    out.print(f"books closed through {result.extra['closed_through']}")


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
    with refused():
        result = open_app().post_journal_entry(Context(actor="cli"), memo, lines, date)
    out.print(f"posted entry {result.id} at position {result.position}")


@journal_cli.command("reverse")
def journal_reverse(entry_id: Annotated[str, typer.Argument(help="The entry to undo.")],
                    date: Annotated[str | None, typer.Option(
                        help="Effective date of the reversal; today when omitted.")] = None
                    ) -> None:
    """Reverses a journal entry in an open period."""
    with refused():
        result = open_app().reverse_journal_entry(Context(actor="cli"), entry_id, date=date)
    out.print(f"posted reversal {result.id} at position {result.position}")
