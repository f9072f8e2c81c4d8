"""The general ledger: accounts, manual journal entries, reversals, period close."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from o2c.api.deps import ALL_ROLES, AppDep, ContextDep, PathId, ProjectorDep, allow
from o2c.api.routes._common import answer, example, fresh, lines_of, versioned
from o2c.api.routes._lists import ListQuery, list_query
from o2c.api.schemas.common import CommandPublic, ExactJSONRoute
from o2c.api.schemas.ledger import (
    ClosePeriod,
    JournalEntryListPublic,
    LedgerAccountPublic,
    OpenLedgerAccount,
    PeriodPublic,
    PostJournalEntry,
    ReversalPublic,
    ReverseJournalEntry,
)
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
    """Close the books through a date; postings dated inside are then refused (409)."""
    return answer(app.close_period(ctx, body.through, body.note), PeriodPublic)


@router.get("/journal-entries", response_model=JournalEntryListPublic,
            dependencies=[allow(*ALL_ROLES)])
def list_journal_entries(query: Annotated[ListQuery, list_query("journal_entries")]
                         ) -> JournalEntryListPublic:
    """Journal entries, a page at a time: search, filter by status, sort by date."""
    return query.page(JournalEntryListPublic)
