"""How reports are printed: a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich.table import Table

from o2c.cli.common import out
from o2c.projections.reports import jsonable


class Format(StrEnum):
    """How a report is printed."""

    table = "table"
    json = "json"
    csv = "csv"


class ReportName(StrEnum):
    """The reports."""

    pipeline = "pipeline"
    inventory = "inventory"
    trial_balance = "trial-balance"
    ar_aging = "ar-aging"


def report_rows(name: ReportName, report: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The report's main rows, and a one-line footer."""
    if name is ReportName.pipeline:
        rows = [*report["stages"], {"stage": "won", **report["won"], "weighted_amount": ""},
                {"stage": "lost", **report["lost"], "weighted_amount": ""}]
        leads = report["leads"]
        footer = (f"win rate {report['win_rate'] * 100:.1f}% · leads {leads['total']}: "
                  f"{leads['converted']} converted, {leads['disqualified']} disqualified, "
                  f"{leads['open']} open · lead conversion "
                  f"{report['lead_conversion_rate'] * 100:.1f}%")
        return rows, footer
    if name is ReportName.inventory:
        return report["items"], f"total value {report['total_value']}"
    if name is ReportName.trial_balance:
        rows = [{k: v for k, v in r.items() if k != "normal_balance"} for r in report["accounts"]]
        t = report["totals"]
        when = " ".join(f"{k} {report[k]}" for k in ("as_of", "known_at") if report[k])
        return rows, (f"totals: debit {t['debit']} credit {t['credit']} balance {t['balance']}"
                      + (f" ({when})" if when else ""))
    rows = report["invoices"]
    buckets = ", ".join(f"{b['bucket']} {b['amount']}" for b in report["buckets"])
    return rows, f"as of {report['as_of']}: {buckets} · total open {report['total_open']}"


def print_report(name: ReportName, report: dict[str, Any], fmt: Format) -> None:
    """Prints a report as a table, JSON or CSV."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(jsonable(report), indent=2) + "\n")
        return
    rows, footer = report_rows(name, report)
    if fmt is Format.csv:
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(jsonable(rows))
        sys.stdout.write(buffer.getvalue())
        return
    table = Table(title=name.value.replace("-", " ").title(), caption=footer)
    columns = list(rows[0]) if rows else ["(no rows)"]
    for column in columns:
        numeric = bool(rows) and isinstance(rows[0].get(column), (Decimal, int))
        table.add_column(column.replace("_", " "), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    out.print(table)
