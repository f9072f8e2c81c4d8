"""The general ledger: accounts, manual journal entries, reversals, closing and reopening
periods, the year-end close."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, ProjectorDep, allow
from o2c.api.routes._common import answer, example, fresh, lines_of, versioned
from o2c.api.routes._lists import ListQuery, list_query
from o2c.api.schemas.common import CommandPublic, ExactJSONRoute
from o2c.api.schemas.ledger import (
    ClosedYearPublic,
    ClosePeriod,
    CloseYear,
    JournalEntryListPublic,
    LedgerAccountPublic,
    OpenLedgerAccount,
    PeriodPublic,
    PeriodsPublic,
    PostJournalEntry,
    ReopenPeriod,
    ReopenPublic,
    ReversalPublic,
    ReverseJournalEntry,
    YearEndPublic,
)
from o2c.domain.accounting_period import AccountingPeriods
from o2c.domain.money import from_minor
from o2c.projections import reports

router = APIRouter(tags=["ledger"], route_class=ExactJSONRoute)
FINANCE = [allow("finance")]


@router.post("/ledger-accounts", status_code=201, response_model=CommandPublic,
             dependencies=FINANCE)
def open_ledger_account(app: AppDep, ctx: ContextDep, body: Annotated[
        OpenLedgerAccount, example("Freight expense", {"code": "6100", "name": "Freight",
                                                       "type": "expense"})]) -> CommandPublic:
    """Add an account to the chart of accounts."""
    return answer(app.open_ledger_account(ctx, body.code, body.name, body.type), CommandPublic)


@router.get("/ledger-accounts/{code}", response_model=LedgerAccountPublic,
            dependencies=[allow(*ALL_ROLES)])
def get_ledger_account(response: Response, app: AppDep, projector: ProjectorDep,
                       code: PathId) -> LedgerAccountPublic:
    """An account with its debits, credits and balance."""
    account = app.ledger_account(code)
    fresh(projector, projector.head())
    balance = reports.trial_balance(app.db, app.places)
    zero = from_minor(0, app.places)
    line = next((row for row in balance["accounts"] if row["code"] == account.code),
                {"debit": zero, "credit": zero, "balance": zero})
    return versioned(response, LedgerAccountPublic(
        code=account.code, id=str(account.id), version=account.version, name=account.name,
        type=account.type, debit=line["debit"], credit=line["credit"], balance=line["balance"]))


@router.post("/journal-entries", status_code=201, response_model=CommandPublic,
             dependencies=FINANCE)
def post_journal_entry(app: AppDep, ctx: ContextDep, body: Annotated[
        PostJournalEntry, example("Owner's capital, back-dated", {
            "memo": "Owner's capital contribution", "date": "2026-10-01",
            "lines": [{"account": "1000", "debit": "5000.00"},
                      {"account": "3000", "credit": "5000.00"}]})]) -> CommandPublic:
    """Post a balanced manual entry; its effective date may lie in the past."""
    return answer(app.post_journal_entry(ctx, body.memo, lines_of(body.lines), body.date),
                  CommandPublic)


@router.post("/journal-entries/{entry_id}/reverse", status_code=201,
             response_model=ReversalPublic, dependencies=FINANCE)
def reverse_journal_entry(app: AppDep, ctx: ContextDep, entry_id: PathId, body: Annotated[
        ReverseJournalEntry, example("Undo", {"memo": "Reverse misposted accrual"})]
                          ) -> ReversalPublic:
    """Reverse an entry in an open period (the original stays in the books)."""
    return answer(app.reverse_journal_entry(ctx, entry_id, body.memo, body.date),
                  ReversalPublic)


@router.post("/periods/close", response_model=PeriodPublic, dependencies=FINANCE)
def close_period(app: AppDep, ctx: ContextDep, body: Annotated[
        ClosePeriod, example("October close", {"through": "2026-10-31",
                                               "note": "October closed"})]) -> PeriodPublic:
    """Close the books through a date; postings dated inside are then refused (409).

    A date after the business date is refused (422): a period is closed once it has
    passed."""
    return answer(app.close_period(ctx, body.through, body.note), PeriodPublic)


@router.post("/periods/reopen", response_model=ReopenPublic, dependencies=FINANCE)
def reopen_period(app: AppDep, ctx: ContextDep, body: Annotated[
        ReopenPeriod, example("Reopen November", {
            "through": "2026-10-31", "reason": "supplier credit note received late"})]
                  ) -> ReopenPublic:
    """Reopen the periods after a date, with a reason; a closed year reopened is undone.

    Afterwards the books are closed through ``through`` only (it must be earlier than
    the current close, 409 otherwise); the closing entry of each closed year whose last
    day is reopened is reversed by a system entry, and the year can be closed again."""
    return answer(app.reopen_period(ctx, body.through, body.reason), ReopenPublic)


@router.post("/periods/year-end", response_model=YearEndPublic, dependencies=FINANCE)
def close_year(app: AppDep, ctx: ContextDep, body: Annotated[
        CloseYear, example("Close 2026", {"year": 2026})]) -> YearEndPublic:
    """Close a year: revenue and expense balances to 3100 Retained Earnings.

    Closes the books through 31 December first if they are not (422 if that day is
    after the business date), then posts one system entry dated 31 December (cause
    ``AccountingPeriods.YearClosed``). A year already closed, or one before a closed
    year, is refused (409)."""
    return answer(app.year_end(ctx, body.year, body.note), YearEndPublic)


@router.get("/periods", response_model=PeriodsPublic, dependencies=[allow(*ALL_ROLES)])
def get_periods(response: Response, app: AppDep) -> PeriodsPublic:
    """How far the books are closed, and the closed years with their closing entries."""
    periods = app.periods()
    return versioned(response, PeriodsPublic(
        id=str(AccountingPeriods.create_id()), version=periods.version if periods else 0,
        closed_through=periods.closed_through if periods else None,
        closed_years=[ClosedYearPublic(year=year, entry_id=str(entry) if entry else None)
                      for year, entry in sorted((periods.closed_years if periods
                                                 else {}).items())]))


@router.get("/journal-entries", response_model=JournalEntryListPublic,
            dependencies=[allow(*ALL_ROLES)])
def list_journal_entries(query: Annotated[ListQuery, list_query("journal_entries")]
                         ) -> JournalEntryListPublic:
    """Journal entries, a page at a time: search, filter by status, sort by date."""
    return query.page(JournalEntryListPublic)
