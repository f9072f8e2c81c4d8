"""Books: trial balance (as of, known at; or opening, movement and closing for a range),
account ledgers, profit and loss, balance sheet, AR aging, journal entries, period
close."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c.application import O2C, Context, Result, parse_date
from o2c.domain.errors import InvalidInputError, NotFoundError, O2CError
from o2c.projections import ledger_reports, reports
from o2c.web import core
from o2c.web.pages import csv_report
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False)
#: Lines the manual entry form offers.
ENTRY_LINES = 4
#: Lines per page of an account's ledger.
LEDGER_PAGE = 200


def _day(value: str) -> date | None:
    return parse_date(value, "as of") if value.strip() else None


def _moment(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInputError(f"known at: not a date and time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _balance(request: Request) -> tuple[dict[str, Any] | None, str, str, str]:
    app: O2C = request.app.state.o2c
    as_of = request.query_params.get("as_of", "")[:40]
    known_at = request.query_params.get("known_at", "")[:40]
    start, end = _range_of(request)
    try:
        if start or end:
            if as_of.strip():
                raise InvalidInputError("give as of, or from and to, not both")
            report = ledger_reports.trial_balance_range(
                app.db, app.places, start=_date(start, "from"), end=_date(end, "to"),
                known_at=_moment(known_at))
        else:
            report = reports.trial_balance(app.db, app.places, as_of=_day(as_of),
                                           known_at=_moment(known_at))
    except O2CError as exc:
        return None, as_of, known_at, exc.message
    return report, as_of, known_at, ""


def _date(value: str, what: str) -> date | None:
    return parse_date(value, what) if value.strip() else None


def _range_of(request: Request) -> tuple[str, str]:
    return (request.query_params.get("from", "")[:40], request.query_params.get("to", "")[:40])


@router.get("/books")
def books(request: Request) -> Response:
    """The books start at the trial balance."""
    core.signed_in(request)
    return core.see_other("/books/trial-balance")


@router.get("/books/trial-balance")
def trial_balance(request: Request) -> Response:
    """Per account debit, credit and balance, totals balanced; as of a date, known at a
    time. An htmx request gets only the table."""
    who = core.signed_in(request)
    core.wait_fresh(request)
    report, as_of, known_at, error = _balance(request)
    template = ("trial_balance_table.html" if request.headers.get("HX-Request")
                else "trial_balance.html")
    start, end = _range_of(request)
    return core.render(request, who, template, status=422 if error else 200, report=report,
                       as_of=as_of, known_at=known_at, start=start, end=end, error=error)


def _report_page(request: Request, template: str, compute: Any) -> Response:
    """A ledger report's page: the form's values, the report or the refusal."""
    who = core.signed_in(request)
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    values = {key: request.query_params.get(key, "")[:40]
              for key in ("from", "to", "as_of", "known_at", "monthly", "cursor")}
    status = 200
    try:
        report, error = compute(app, values), ""
    except NotFoundError as exc:
        report, error, status = None, exc.message, 404
    except O2CError as exc:
        report, error, status = None, exc.message, 422
    return core.render(request, who, template, status=status, report=report, error=error,
                       form=values, start=values["from"], end=values["to"])


@router.get("/books/ledger/{code}")
def ledger(request: Request, code: str) -> Response:
    """One account's postings in a date range: opening balance, each line with its
    running balance and a link to its cause, closing balance (paged)."""
    def compute(app: O2C, v: dict[str, str]) -> dict[str, Any]:
        return ledger_reports.ledger(app.db, app.places, code[:40],
                                     start=_date(v["from"], "from"), end=_date(v["to"], "to"),
                                     known_at=_moment(v["known_at"]), limit=LEDGER_PAGE,
                                     cursor=v["cursor"] or None)

    return _report_page(request, "ledger.html", compute)


@router.get("/books/pnl")
def profit_and_loss(request: Request) -> Response:
    """Profit and loss for a period, optionally per month."""
    def compute(app: O2C, v: dict[str, str]) -> dict[str, Any]:
        return ledger_reports.profit_and_loss(
            app.db, app.places, start=_date(v["from"], "from"), end=_date(v["to"], "to"),
            known_at=_moment(v["known_at"]), monthly=bool(v["monthly"]))

    return _report_page(request, "pnl.html", compute)


@router.get("/books/balance-sheet")
def balance_sheet(request: Request) -> Response:
    """Assets, liabilities and equity (with the unclosed profit) at a date."""
    def compute(app: O2C, v: dict[str, str]) -> dict[str, Any]:
        return ledger_reports.balance_sheet(app.db, app.places, as_of=_day(v["as_of"]),
                                            known_at=_moment(v["known_at"]))

    return _report_page(request, "balance_sheet.html", compute)


@router.get("/books/trial-balance.csv")
def trial_balance_csv(request: Request) -> Response:
    """The trial balance as CSV (the same pickers), its totals as the last line."""
    core.signed_in(request)
    core.wait_fresh(request)
    report, _, _, error = _balance(request)
    if report is None:
        return Response(error, status_code=422, media_type="text/plain; charset=utf-8")
    totals = {"code": "", "name": "Totals", **report["totals"]}
    return csv_report("trial-balance.csv", ["code", "name", "type", "debit", "credit",
                                            "balance"], [*report["accounts"], totals])


def _aging(request: Request) -> tuple[dict[str, Any] | None, str, str]:
    app: O2C = request.app.state.o2c
    as_of = request.query_params.get("as_of", "")[:40]
    try:
        return reports.ar_aging(app.db, app.places, as_of=_day(as_of)), as_of, ""
    except O2CError as exc:
        return None, as_of, exc.message


@router.get("/books/ar-aging")
def ar_aging(request: Request) -> Response:
    """Open invoices by how long they are past due."""
    who = core.signed_in(request)
    core.wait_fresh(request)
    report, as_of, error = _aging(request)
    return core.render(request, who, "ar_aging.html", status=422 if error else 200,
                       report=report, as_of=as_of, error=error)


@router.get("/books/ar-aging.csv")
def ar_aging_csv(request: Request) -> Response:
    """The open invoices with their age buckets, as CSV."""
    core.signed_in(request)
    core.wait_fresh(request)
    report, _, error = _aging(request)
    if report is None:
        return Response(error, status_code=422, media_type="text/plain; charset=utf-8")
    return csv_report("ar-aging.csv", ["invoice_number", "order_id", "customer_id",
                                       "issued_on", "due_on", "total", "paid", "open",
                                       "days_overdue", "bucket"], report["invoices"])


def _journal(request: Request, who: Viewer, error: str = "", status: int = 200,
             form: core.Form | None = None) -> Response:
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    balance = reports.trial_balance(app.db, app.places)
    periods = app.periods()
    entries = journal_page(request)
    return core.render(request, who, "journal.html", status=status, error=error,
                       accounts=balance["accounts"], entries=entries, lines=ENTRY_LINES,
                       closed_through=periods.closed_through if periods else None,
                       form=form)


def journal_page(request: Request) -> dict[str, Any]:
    """A page of journal entries, newest first (from the list read model)."""
    from o2c.projections import lists

    app: O2C = request.app.state.o2c
    page = lists.journal_entries(app.db, app.places, limit=25,
                                 cursor=request.query_params.get("cursor") or None,
                                 q=request.query_params.get("q") or None, status=None)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/books/journal")
def journal(request: Request) -> Response:
    """Journal entries, the manual entry form, reversal and period close."""
    return _journal(request, core.signed_in(request))


def _post(app: O2C, ctx: Context, form: core.Form) -> Result:
    lines = []
    for row in form.lines("account", "debit", "credit"):
        line = {"account": row["account"]}
        if row["debit"]:
            line["debit"] = row["debit"]
        if row["credit"]:
            line["credit"] = row["credit"]
        lines.append(line)
    return app.post_journal_entry(ctx, form.get("memo"), lines, form.optional("date"))


def _page(req: Request, who: Viewer, error: str, status: int) -> Response:
    return _journal(req, who, error, status)


@router.post("/books/journal")
async def post_entry(request: Request) -> Response:
    """Posts a manual entry (refused unless it balances)."""
    return await core.perform(request, "journal.post", _post, _page,
                              then=lambda r: "/books/journal",
                              done=lambda r: f"Journal entry {r.id} posted.")


@router.post("/books/journal/{entry_id}/reverse")
async def reverse_entry(request: Request, entry_id: str) -> Response:
    """Reverses an entry in an open period."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.reverse_journal_entry(ctx, entry_id, form.optional("memo"),
                                         form.optional("date"))

    return await core.perform(request, "journal.reverse", run, _page,
                              then=lambda r: "/books/journal",
                              done=lambda r: f"Entry reversed by {r.id}.")


@router.post("/books/periods/close")
async def close_period(request: Request) -> Response:
    """Closes the books through a date."""
    def run(app: O2C, ctx: Context, form: core.Form) -> Result:
        return app.close_period(ctx, form.get("through"), form.get("note"))

    return await core.perform(
        request, "period.close", run, _page, then=lambda r: "/books/journal",
        done=lambda r: f"Books closed through {r.extra.get('closed_through', '')}.")
