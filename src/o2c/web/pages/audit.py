"""Audit: the chain's verdict, the event log paged, an order's or entry's trail."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from o2c import audit
from o2c.application import O2C
from o2c.audit import Verdict
from o2c.domain.errors import O2CError
from o2c.projections import Projector
from o2c.web import core

router = APIRouter(include_in_schema=False)
PAGE = 50
#: The home page has the chain checked again in the background at most this often.
RECHECK_SECONDS = 60.0
_checking = threading.Lock()


def _verify(request: Request) -> Verdict:
    app: O2C = request.app.state.o2c
    verdict = audit.verify(app.db)
    request.app.state.web_verdict = verdict
    request.app.state.web_verdict_at = time.monotonic()
    return verdict


def latest_verdict(request: Request) -> Verdict | None:
    """The last verdict this process reached (checked again in the background when the
    log has grown), so the home page never waits for the whole chain."""
    verdict: Verdict | None = getattr(request.app.state, "web_verdict", None)
    checked: float = getattr(request.app.state, "web_verdict_at", 0.0)
    projector: Projector = request.app.state.projector
    stale = verdict is None or (verdict.head_position < projector.head()
                                and time.monotonic() - checked > RECHECK_SECONDS)
    if stale and _checking.acquire(blocking=False):
        def check() -> None:
            try:
                _verify(request)
            finally:
                _checking.release()
        threading.Thread(target=check, name="o2c-web-verify", daemon=True).start()
    return verdict


@router.get("/audit")
def audit_page(request: Request, after: int = Query(0, ge=0, le=2**62),
               trail: str = Query("", max_length=100)) -> Response:
    """The verdict with head position and hash, the log from ``after``, and a trail."""
    who = core.signed_in(request, "audit.read")
    app: O2C = request.app.state.o2c
    verdict = _verify(request)  # always recomputed here: an edit need not move the head
    page = audit.events(app.db, after, PAGE)
    found: dict[str, Any] | None = None
    error = ""
    if trail.strip():
        try:
            found = audit.trail(app, request.app.state.projector, trail.strip())
        except O2CError as exc:
            error = exc.message
    status = 404 if error else 200
    return core.render(request, who, "audit.html", status=status, verdict=verdict,
                       page=page, after=after, size=PAGE, trail=found, trail_id=trail.strip(),
                       error=error)
