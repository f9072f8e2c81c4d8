"""Commands for accounting periods: close, and what the close of a period allows."""

from __future__ import annotations

from typing import Annotated

import typer

from o2c.application import Context
from o2c.cli.common import out, writing

periods_cli = typer.Typer(help="Accounting periods.", no_args_is_help=True)


@periods_cli.command("close")
def periods_close(through: Annotated[str, typer.Option(help="Close every period through "
                                                              "this date (YYYY-MM-DD).")],
                  note: Annotated[str, typer.Option(help="Why, or by whom.")] = "") -> None:
    """Closes the books through a date: postings dated in it are then refused."""
    with writing() as app:
        result = app.close_period(Context(actor="cli"), through, note)
    out.print(f"books closed through {result.extra['closed_through']}")
