"""Audit: the log, one aggregate's history, lineage, and the hash chain's verdict."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from o2c import audit
from o2c.api.deps import AppDep, PathId, ProjectorDep, allow
from o2c.api.schemas.audit import AuditLogPublic, StreamPublic, TrailPublic, VerdictPublic
from o2c.domain.errors import NotFoundError
from o2c.projections.reports import jsonable

router = APIRouter(prefix="/audit", tags=["audit"],
                   dependencies=[allow("auditor", "finance")])


@router.get("/events", response_model=AuditLogPublic)
def events(app: AppDep, after: Annotated[int, Query(ge=0, le=2**62)] = 0,
           limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    """The log in order: position, time, actor, idempotency key, event, hash."""
    return audit.events(app.db, after, limit)


@router.get("/streams/{aggregate_id}", response_model=StreamPublic)
def stream(app: AppDep, aggregate_id: PathId) -> dict[str, Any]:
    """Every event of one aggregate (an id, a SKU or an account code), in order."""
    steps = audit.history_of(app, aggregate_id)
    if not steps:
        raise NotFoundError(f"no events for {aggregate_id!r}")
    return {"aggregate_id": aggregate_id,
            "events": jsonable(steps)}


@router.get("/trail/{aggregate_id}", response_model=TrailPublic)
def trail(app: AppDep, projector: ProjectorDep, aggregate_id: PathId) -> dict[str, Any]:
    """Lineage of a journal entry or sales order: back to its lead, forward to its cash."""
    result: dict[str, Any] = jsonable(audit.trail(app, projector, aggregate_id))
    return result


@router.get("/verify", response_model=VerdictPublic)
def verify(app: AppDep) -> dict[str, Any]:
    """Recompute the hash chain: the first bad event, or the head hash and count."""
    return audit.verify(app.db).as_dict()
