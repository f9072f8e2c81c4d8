"""Answers of ``routes.audit``: the log, histories, lineage and the chain's verdict."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from o2c.api.schemas.common import Dec, Out


class AuditEventPublic(Out):
    """One stored event: where it is in the log, when, who, and its chained hash."""

    position: int
    aggregate_id: str
    version: int
    event: str = Field(examples=["SalesOrder.Confirmed"])
    recorded_at: str
    actor: str = Field(examples=["sales:Dana#3f2a9c0d11b4"])
    idempotency_key: str | None
    hash: str


class AuditLogPublic(Out):
    """A page of the log; pass ``next_after`` as ``after`` for the next page."""

    events: list[AuditEventPublic]
    next_after: int


class HistoryStepPublic(Out):
    """One event of an aggregate's history, with what it recorded."""

    position: int
    version: int
    event: str
    recorded_at: str
    actor: str
    idempotency_key: str | None
    hash: str
    data: dict[str, Any]


class StreamPublic(Out):
    """Every event of one aggregate, in order."""

    aggregate_id: str
    events: list[HistoryStepPublic]


class TrailStepPublic(Out):
    """A step of a lineage: the stored event behind it."""

    aggregate_id: str
    event: str
    position: int
    version: int
    recorded_at: str
    actor: str
    idempotency_key: str | None
    data: dict[str, Any]


class TrailLinePublic(Out):
    """One line of a journal entry."""

    account: str
    debit: Dec
    credit: Dec


class TrailEntryPublic(Out):
    """A journal entry an order caused."""

    journal_entry_id: str
    position: int
    date: str
    caused_by: str | None
    memo: str
    lines: list[TrailLinePublic]


class TrailPublic(Out):
    """Lineage of a sales order or journal entry: back to its lead, forward to its cash."""

    subject: str
    subject_type: str = Field(examples=["sales_order"])
    backward: list[TrailStepPublic]
    forward: list[TrailStepPublic]
    journal_entries: list[TrailEntryPublic] = []


class VerdictPublic(Out):
    """The hash chain's verdict: the first bad event, or the head's position and hash."""

    ok: bool
    count: int
    head_position: int
    head_hash: str
    first_bad_position: int | None
    reason: str
