"""Audit: the log, one aggregate's history, lineage, and the hash chain's verdict."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from o2c import audit
from o2c.api.deps import AppDep, PathId, allow
from o2c.api.schemas.audit import AuditLogPublic, StreamPublic, TrailPublic, VerdictPublic
from o2c.api.schemas.common import plain
from o2c.domain.errors import NotFoundError
from o2c.persistence.audit_rows import META_TABLE

router = APIRouter(prefix="/audit", tags=["audit"],
                   dependencies=[allow("auditor", "finance")])


@router.get("/events", response_model=AuditLogPublic)
def events(app: AppDep, after: Annotated[int, Query(ge=0, le=2**62)] = 0,
           limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """The log in order: position, time, actor, idempotency key, event, hash."""
    position = "notification_id" if app.db.postgres else "rowid"
    with app.db.transaction(write=False) as cur:
        rows = cur.execute(
            f"SELECT e.{position}, e.originator_id, e.originator_version, e.topic, "
            f"m.recorded_at, m.actor, m.idempotency_key, m.hash FROM {app.db.events_table} e "
            f"JOIN {app.db.table(META_TABLE)} m ON m.notification_id = e.{position} "
            # Bounded on both sides, so neither table is scanned from its start.
            f"WHERE e.{position} > ? AND m.notification_id > ? ORDER BY e.{position} LIMIT ?",
            (after, after, limit)).fetchall()
    items = [{"position": int(p), "aggregate_id": str(UUID(str(oid))), "version": int(v),
              "event": topic.rsplit(":", 1)[-1], "recorded_at": at, "actor": actor,
              "idempotency_key": key, "hash": digest}
             for p, oid, v, topic, at, actor, key, digest in rows]
    return {"events": items, "next_after": items[-1]["position"] if items else after}


@router.get("/streams/{aggregate_id}", response_model=StreamPublic)
def stream(app: AppDep, aggregate_id: PathId) -> dict[str, Any]:
    """Every event of one aggregate (an id, a SKU or an account code), in order."""
    steps = audit.history_of(app, aggregate_id)
    if not steps:
        raise NotFoundError(f"no events for {aggregate_id!r}")
    return {"aggregate_id": aggregate_id,
            "events": plain(steps)}


@router.get("/trail/{aggregate_id}", response_model=TrailPublic)
def trail(app: AppDep, aggregate_id: PathId) -> dict[str, Any]:
    """Lineage of a journal entry or sales order: back to its lead, forward to its cash."""
    result: dict[str, Any] = plain(audit.trail(app, aggregate_id))
    return result


@router.get("/verify", response_model=VerdictPublic)
def verify(app: AppDep) -> dict[str, Any]:
    """Recompute the hash chain: the first bad event, or the head hash and count."""
    return audit.verify(app).as_dict()
