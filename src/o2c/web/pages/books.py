"""Books: trial balance (as of, known at), AR aging, journal entries, period close."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from o2c.application import O2C, Context, Result, parse_date
from o2c.domain.errors import InvalidInputError, O2CError
from o2c.projections import reports
from o2c.web import core
from o2c.web.pages import csv_report
from o2c.web.session import Viewer

router = APIRouter(include_in_schema=False)
#: Lines the manual entry form offers.
ENTRY_LINES = 4


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
    try:
        report = reports.trial_balance(app.db, app.places, as_of=_day(as_of),
                                       known_at=_moment(known_at))
    except O2CError as exc:
        return None, as_of, known_at, exc.message
    return report, as_of, known_at, ""


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
    return core.render(request, who, template, status=422 if error else 200, report=report,
                       as_of=as_of, known_at=known_at, error=error)


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
