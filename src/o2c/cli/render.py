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
    ledger = "ledger"
    pnl = "pnl"
    balance_sheet = "balance-sheet"


#: Table titles that are not the report's name in title case.
TITLES = {ReportName.pnl: "Profit and Loss", ReportName.ledger: "Account Ledger"}


def _monthly(row: dict[str, Any], months: list[dict[str, Any]] | None,
             amounts: list[Any] | None) -> dict[str, Any]:
    """A row with one column per month (``YYYY-MM``) added, when monthly."""
    if not months or amounts is None:
        return row
    return {**row, **{m["month"]: a for m, a in zip(months, amounts, strict=True)}}


def _ledger_rows(report: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    keep = ("date", "position", "entry_id", "memo", "cause", "source_id", "debit", "credit",
            "balance")
    rows = [{k: "" if line[k] is None else line[k] for k in keep} for line in report["lines"]]
    account, t = report["account"], report["totals"]
    when = " ".join(f"{k.replace('_', '-')} {report[k]}" for k in ("from", "to", "known_at")
                    if report[k])
    return rows, (f"{account['code']} {account['name']} ({when}): opening "
                  f"{report['opening_balance']} · debit {t['debit']} credit {t['credit']} · "
                  f"closing {report['closing_balance']} (balances: debit positive)")


def _pnl_rows(report: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    months = report.get("months")
    rows: list[dict[str, Any]] = []
    for key, title in (("revenue", "Revenue"), ("expenses", "Expenses")):
        section = report[key]
        for account in section["accounts"]:
            rows.append(_monthly({"section": title, "code": account["code"],
                                  "name": account["name"], "amount": account["amount"]},
                                 months, account.get("by_month")))
        rows.append(_monthly({"section": title, "code": "", "name": f"Total {key}",
                              "amount": section["total"]}, months, section.get("by_month")))
    rows.append(_monthly({"section": "", "code": "", "name": "Net profit",
                          "amount": report["net_profit"]}, months,
                         report.get("net_profit_by_month")))
    when = " ".join(f"{k.replace('_', '-')} {report[k]}" for k in ("from", "to", "known_at")
                    if report[k])
    return rows, f"net profit {report['net_profit']} ({when}; year-end close entries left out)"


def _balance_sheet_rows(report: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    rows: list[dict[str, Any]] = []
    for key, title in (("assets", "Assets"), ("liabilities", "Liabilities"),
                       ("equity", "Equity")):
        section = report[key]
        rows += [{"section": title, "code": a["code"], "name": a["name"], "amount": a["amount"]}
                 for a in section["accounts"]]
        if key == "equity":
            rows.append({"section": title, "code": "", "name": "Unclosed profit",
                         "amount": section["unclosed_profit"]})
            rows.append({"section": title, "code": "", "name": "Total equity",
                         "amount": section["total_with_unclosed_profit"]})
        else:
            rows.append({"section": title, "code": "", "name": f"Total {key}",
                         "amount": section["total"]})
    rows.append({"section": "", "code": "", "name": "Liabilities and equity",
                 "amount": report["liabilities_and_equity"]})
    verdict = ("balanced: assets = liabilities + equity + unclosed profit"
               if report["balanced"] else f"NOT balanced: difference {report['difference']}")
    when = f"as of {report['as_of']}" + (f", known at {report['known_at']}"
                                         if report["known_at"] else "")
    return rows, f"{verdict} ({when})"


def _trial_balance_range_rows(report: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    months = report.get("months")
    rows = []
    for account in report["accounts"]:
        row = {k: account[k] for k in ("code", "name", "type", "opening", "debit", "credit",
                                       "closing")}
        for month in account.get("by_month") or []:
            row[f"{month['month']} debit"] = month["debit"]
            row[f"{month['month']} credit"] = month["credit"]
        rows.append(row)
    t = report["totals"]
    when = " ".join(f"{k.replace('_', '-')} {report[k]}" for k in ("from", "to", "known_at")
                    if report[k])
    return rows, (f"totals: opening {t['opening']} debit {t['debit']} credit {t['credit']} "
                  f"closing {t['closing']} ({when}{'; monthly' if months else ''})")


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
        if "stale" in report:  # no activity for O2C_STALE_DAYS days (activities)
            footer += (f" · stale {report['stale']['count']} "
                       f"(no activity for {report['stale']['days']} days)")
        return rows, footer
    if name is ReportName.inventory:
        return report["items"], f"total value {report['total_value']}"
    if name is ReportName.ledger:
        return _ledger_rows(report)
    if name is ReportName.pnl:
        return _pnl_rows(report)
    if name is ReportName.balance_sheet:
        return _balance_sheet_rows(report)
    if name is ReportName.trial_balance and "opening" in report["totals"]:
        return _trial_balance_range_rows(report)
    if name is ReportName.trial_balance:
        rows = [{k: v for k, v in r.items() if k != "normal_balance"} for r in report["accounts"]]
        t = report["totals"]
        when = " ".join(f"{k} {report[k]}" for k in ("as_of", "known_at") if report[k])
        return rows, (f"totals: debit {t['debit']} credit {t['credit']} balance {t['balance']}"
                      + (f" ({when})" if when else ""))
    rows = report["invoices"]
    buckets = ", ".join(f"{b['bucket']} {b['amount']}" for b in report["buckets"])
    credits = "; ".join(f"{c['customer_name'] or c['customer_id']} {c['unapplied_credit']}"
                        for c in report.get("customers", []) if c["unapplied_credit"])
    return rows, (f"as of {report['as_of']}: {buckets} · total open {report['total_open']}"
                  f" · unapplied credit {report.get('unapplied_credit', '')}"
                  + (f" ({credits})" if credits else "")
                  + f" · net receivable {report.get('net_receivable', '')}")


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
    table = Table(title=TITLES.get(name, name.value.replace("-", " ").title()), caption=footer)
    columns = list(rows[0]) if rows else ["(no rows)"]
    for column in columns:
        numeric = bool(rows) and isinstance(rows[0].get(column), (Decimal, int))
        table.add_column(column.replace("_", " "), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    out.print(table)
