"""Commands for accounting periods: close, reopen, the year-end close, and where the
books stand."""

from __future__ import annotations

from typing import Annotated

import typer

from o2c.application import Context
from o2c.cli.common import open_reader, out, writing

periods_cli = typer.Typer(help="Accounting periods.", no_args_is_help=True)


@periods_cli.command("close")
def periods_close(through: Annotated[str, typer.Option(help="Close every period through "
                                                              "this date (YYYY-MM-DD).")],
                  note: Annotated[str, typer.Option(help="Why, or by whom.")] = "") -> None:
    """Closes the books through a date (not after today): postings dated in it are then
    refused."""
    with writing() as app:
        result = app.close_period(Context(actor="cli"), through, note)
    out.print(f"books closed through {result.extra['closed_through']}")


@periods_cli.command("reopen")
def periods_reopen(through: Annotated[str, typer.Option(
                       help="Keep the books closed through this date only (YYYY-MM-DD, "
                            "earlier than the current close).")],
                   reason: Annotated[str, typer.Option(help="Why (required; recorded).")]
                   ) -> None:
    """Reopens the periods after a date; a closed year reopened has its closing entry
    reversed."""
    with writing() as app:
        result = app.reopen_period(Context(actor="cli"), through, reason)
    out.print(f"books closed through {result.extra['closed_through']}")
    for year in result.extra["reopened_years"]:
        out.print(f"year {year} reopened")
    for reversal in result.extra["reversal_ids"]:
        out.print(f"closing entry reversed by journal entry {reversal}")


@periods_cli.command("close-year")
def periods_close_year(year: Annotated[int, typer.Option(
                           help="The financial (calendar) year to close, e.g. 2026.")],
                       note: Annotated[str, typer.Option(help="A note for the close of "
                                                              "its periods.")] = "") -> None:
    """Closes a year: closes the books through 31 December if needed, then moves every
    revenue and expense balance to 3100 Retained Earnings by one system entry."""
    with writing() as app:
        result = app.year_end(Context(actor="cli"), year, note)
    entry = result.extra["entry_id"]
    out.print(f"year {result.extra['year']} closed"
              + (f" by journal entry {entry}" if entry else " (nothing to move)")
              + f"; books closed through {result.extra['closed_through']}")


@periods_cli.command("show")
def periods_show() -> None:
    """How far the books are closed, and the closed years."""
    app, _ = open_reader()
    try:
        periods = app.periods()
    finally:
        app.close()
    closed = periods.closed_through if periods else None
    out.print(f"books closed through {closed}" if closed else "books never closed")
    for year, entry in sorted((periods.closed_years if periods else {}).items()):
        out.print(f"year {year} closed" + (f" by journal entry {entry}" if entry else ""))
