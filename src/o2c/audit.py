"""Audit: verify the hash chain of the log, page through it, read one aggregate's
history, and trace a sale's lineage.

``verify`` streams the log in position order, in pages, recomputing each
event's chained hash from its stored content and its audit record; it names
the first event that was edited, deleted, inserted or reordered. Memory stays
bounded whatever the log's length.

The log is read through ``o2c.persistence.log`` and the read models through
``o2c.projections.reports``; this module runs no SQL of its own. ``trail``
catches up the caller's projector before it reads the projected postings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from o2c.persistence import log
from o2c.persistence.audit_rows import GENESIS, event_hash
from o2c.persistence.sql import Database
from o2c.projections import Projector, reports

if TYPE_CHECKING:
    from o2c.application import O2C


@dataclass
class Verdict:
    """The result of checking the chain."""

    ok: bool
    count: int
    head_position: int
    head_hash: str
    first_bad_position: int | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The verdict as plain values."""
        return asdict(self)


def verify(db: Database, progress: Callable[[int], None] | None = None,
           expect: tuple[int, str] | None = None) -> Verdict:
    """Recomputes the chain; names the first bad event, or returns the head hash.

    ``expect`` is a (position, hash) an auditor saved earlier: the verdict also
    fails unless today's log has that hash at that position (the saved log is
    a prefix of today's).
    """
    previous, count, head = GENESIS, 0, 0
    expectation_met = expect is None
    for page in log.chain_pages(db):
        for position, event, meta in page:
            if event is None:
                return Verdict(False, count, head, previous, position,
                               f"event at position {position} was deleted")
            if meta is None:
                return Verdict(False, count, head, previous, position,
                               f"event at position {position} has no audit record: "
                               "it was inserted outside o2c")
            _, oid, version, topic, state = event
            _, actor, key, recorded_at, stored_hash = meta
            expected = event_hash(previous, position, oid, int(version), topic, bytes(state),
                                  actor, key, recorded_at)
            if expected != stored_hash:
                return Verdict(False, count, head, previous, position,
                               f"event at position {position} does not match its hash: it, "
                               "or its audit record, was edited, or events were reordered")
            previous, head = stored_hash, position
            count += 1
            if expect is not None and position == expect[0]:
                expectation_met = stored_hash == expect[1]
                if not expectation_met:
                    return Verdict(False, count, head, previous, position,
                                   f"the saved head hash at position {position} differs: "
                                   "the log seen then is not a prefix of today's")
        if progress is not None:
            progress(head)
    if not expectation_met:
        assert expect is not None
        return Verdict(False, count, head, previous, expect[0],
                       f"the saved head position {expect[0]} is not in today's log")
    return Verdict(True, count, head, previous)


def history(app: O2C, aggregate_id: str) -> list[dict[str, Any]]:
    """Every event of one aggregate, in order, with its position, time, actor and key."""
    try:
        uid = UUID(str(aggregate_id))
    except ValueError:
        return []
    rows = log.aggregate_events(app.db, uid)
    steps = []
    for position, version, topic, state, actor, key, recorded_at, digest in rows:
        event = app.mapper.to_domain_event(StoredEvent(
            originator_id=uid, originator_version=int(version), topic=topic,
            state=bytes(state)))
        data = {k: v for k, v in event.__dict__.items()
                if k not in ("originator_id", "originator_version", "timestamp",
                             "originator_topic")}
        steps.append({"position": int(position), "version": int(version),
                      "event": topic.rsplit(":", 1)[-1], "recorded_at": recorded_at,
                      "actor": actor, "idempotency_key": key, "hash": digest, "data": data})
    return steps


def history_of(app: O2C, key: str) -> list[dict[str, Any]]:
    """The history of an aggregate named by its id, a SKU or an account code."""
    from o2c.domain.ledger_account import LedgerAccount
    from o2c.domain.stock_item import StockItem

    steps = history(app, key)
    for derived in (StockItem.create_id(key.upper()), LedgerAccount.create_id(key)):
        steps = steps or history(app, str(derived))
    return steps


def _step(app: O2C, aggregate_id: object, events: tuple[str, ...] | None = None
          ) -> list[dict[str, Any]]:
    steps = history(app, str(aggregate_id))
    if events is not None:
        steps = [s for s in steps if s["event"] in events]
    return [{"aggregate_id": str(aggregate_id), **{k: s[k] for k in (
        "event", "position", "version", "recorded_at", "actor", "idempotency_key")},
        "data": s["data"]} for s in steps]


def _entries_caused_by(app: O2C, source_id: str) -> list[dict[str, Any]]:
    entries = reports.journal_entries(app.db, app.places, source_id)
    for entry in entries:
        entry["lines"] = [{"account": line["account"], "debit": str(line["debit"]),
                           "credit": str(line["credit"])} for line in entry["lines"]]
    return entries


def events(db: Database, after: int = 0, limit: int = 100) -> dict[str, Any]:
    """A page of the log in order, from position ``after``: each event's position,
    aggregate, version, type, recording time, actor, idempotency key and hash, and
    the position to ask for the next page from."""
    items = [{"position": int(p), "aggregate_id": str(UUID(str(oid))), "version": int(v),
              "event": topic.rsplit(":", 1)[-1], "recorded_at": at, "actor": actor,
              "idempotency_key": key, "hash": digest}
             for p, oid, v, topic, at, actor, key, digest in log.events_page(db, after, limit)]
    return {"events": items, "next_after": items[-1]["position"] if items else after}


def trail(app: O2C, projector: Projector, any_id: str) -> dict[str, Any]:
    """Lineage of a journal entry or sales order: back to its lead, forward to its cash.

    Every step names the stored event (type, position, time, actor) behind it;
    the journal entries come from the projected postings, which ``projector`` (the
    caller's) brings up to date first. Raises ``NotFoundError`` for an id that is
    neither.
    """
    from eventsourcing.application import AggregateNotFoundError

    from o2c.domain.errors import NotFoundError
    from o2c.domain.journal_entry import JournalEntry
    from o2c.domain.sales_order import SalesOrder

    try:
        subject: Any = app.repository.get(UUID(str(any_id)))
    except (ValueError, AggregateNotFoundError):
        raise NotFoundError(f"no journal entry or sales order {any_id!r}") from None
    result: dict[str, Any] = {"subject": str(any_id), "backward": [], "forward": []}
    order = subject
    if isinstance(subject, JournalEntry):
        result["subject_type"] = "journal_entry"
        result["backward"] += _step(app, subject.id)
        if subject.reverses is not None:
            result["backward"] += _step(app, subject.reverses)
        source = app.repository.get(subject.source_id) if subject.source_id else None
        if source is None or not isinstance(source, SalesOrder):
            if source is not None:
                result["backward"] += _step(app, source.id)
            return result
        order = source
    elif isinstance(subject, SalesOrder):
        result["subject_type"] = "sales_order"
    else:
        raise NotFoundError(f"{any_id} is neither a journal entry nor a sales order")
    assert isinstance(order, SalesOrder)
    backward: list[dict[str, Any]] = []
    if order.opportunity_id is not None:
        opportunity: Any = app.repository.get(order.opportunity_id)
        if getattr(opportunity, "lead_id", None) is not None:
            backward += _step(app, opportunity.lead_id, ("Lead.Captured", "Lead.Converted"))
        backward += _step(app, opportunity.id, ("Opportunity.Opened", "Opportunity.Won"))
    backward += _step(app, order.id, ("SalesOrder.Placed",))
    result["backward"] = backward + result["backward"]
    result["forward"] = [s for s in _step(app, order.id) if s["event"] != "SalesOrder.Placed"]
    projector.catch_up()
    result["journal_entries"] = _entries_caused_by(app, str(order.id))
    return result
