"""Commands for auditors: the hash chain's verdict and one aggregate's history."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from o2c.cli.common import err, fail, open_reader, out
from o2c.cli.render import Format
from o2c.projections.reports import jsonable

audit_cli = typer.Typer(help="Audit the log.", no_args_is_help=True)


@audit_cli.command("verify")
def audit_verify(expect: Annotated[str | None, typer.Option(
        "--expect", help="POSITION:HASH saved earlier: prove that log is a prefix of "
                         "today's.")] = None) -> None:
    """Checks the hash chain of the whole log; exit 1 naming the first bad event."""
    from o2c import audit

    expected: tuple[int, str] | None = None
    if expect:
        position, _, digest = expect.partition(":")
        if not position.isdigit() or len(digest) != 64:
            raise fail("--expect takes POSITION:HASH (a 64-hex-digit SHA-256)")
        expected = (int(position), digest.lower())
    app, _ = open_reader()
    try:
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=err) as bar:
            task = bar.add_task("verifying the chain", total=app.db.head())
            verdict = audit.verify(app.db, progress=lambda p: bar.update(task, completed=p),
                                   expect=expected)
    finally:
        app.close()
    if not verdict.ok:
        sys.stdout.write(f"BROKEN at position {verdict.first_bad_position}: {verdict.reason}\n"
                         f"{verdict.count} events verified before it\n")
        raise typer.Exit(1)
    sys.stdout.write(f"OK {verdict.count} events, head position {verdict.head_position}, "
                     f"head hash {verdict.head_hash}\n")


@audit_cli.command("history")
def audit_history(aggregate_id: Annotated[str, typer.Argument(
        help="The aggregate's id (a SKU or account code works too).")],
                  fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """Every event of one aggregate, in order, with position, time, actor and key."""
    from o2c import audit

    app, _ = open_reader()
    try:
        steps = audit.history_of(app, aggregate_id)
    finally:
        app.close()
    if not steps:
        raise fail(f"no events for {aggregate_id!r}")
    if fmt is Format.json:
        sys.stdout.write(json.dumps(jsonable(steps), indent=2, default=str) + "\n")
        return
    table = Table("position", "version", "event", "recorded at", "actor", "key", "data",
                  title=f"History of {aggregate_id}", caption="--format json for every field")
    for step in steps:
        table.add_row(str(step["position"]), str(step["version"]), step["event"],
                      step["recorded_at"], step["actor"], step["idempotency_key"] or "",
                      json.dumps(jsonable(step["data"]), default=str)[:60])
    out.print(table)
