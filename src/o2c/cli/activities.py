"""Commands for a salesperson: the open follow-ups, overdue first."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from o2c.cli.common import fail, open_reader, out, read_models, reading
from o2c.cli.render import Format

#: The columns of the table and the CSV, in order.
COLUMNS = ("owner", "due_date", "overdue", "days_overdue", "kind", "subject_kind", "subject",
           "note", "date", "id", "subject_id")


def follow_ups(
    owner: Annotated[str | None, typer.Option(
        "--owner", help="Only this owner's follow-ups.")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="The business date overdue is judged by (YYYY-MM-DD); today "
                        "(UTC) when omitted.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """Prints the open follow-ups (tasks not completed) per owner: the overdue ones first
    (due before the business date), then by due date."""
    from o2c.projections import activities
    from o2c.projections.reports import jsonable

    try:
        today = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError as error:
        raise fail(f"bad date: {error}") from None
    app, writable = open_reader()
    try:
        projector = read_models(app, writable, ["activities"])
        with reading(writable):
            report = activities.follow_ups(projector.db, today, owner)
    finally:
        app.close()
    rows = [{c: item[c] for c in COLUMNS} for group in report["owners"]
            for item in group["items"]]
    if fmt is Format.json:
        sys.stdout.write(json.dumps(jsonable(report), indent=2) + "\n")
        return
    if fmt is Format.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(jsonable(rows))
        sys.stdout.write(buffer.getvalue())
        return
    _table(rows, report)


def _table(rows: list[dict[str, Any]], report: dict[str, Any]) -> None:
    shown = ("owner", "due_date", "days_overdue", "kind", "subject", "note")
    table = Table(title="Follow-ups", caption=(
        f"as of {report['as_of']}: {report['open']} open, {report['overdue']} overdue"))
    for column in shown:
        table.add_column(column.replace("_", " "),
                         justify="right" if column == "days_overdue" else "left")
    for row in rows:
        late = row["overdue"]
        table.add_row(*(str(row[c]) if c != "days_overdue" else
                        (f"{row[c]} overdue" if late else "") for c in shown),
                      style="bold red" if late else None)
    out.print(table)
