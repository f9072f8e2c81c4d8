"""The HTTP command API (FastAPI): every business action, safe to retry.

``create_app()`` builds the app from the environment's settings; ``o2c serve``
runs it with uvicorn. Server processes keep no state of their own: idempotency
keys, tokens, events and read models all live in the database.

The package: this factory; ``deps`` (what routes depend on: the application,
the caller, the command context), ``errors`` (errors to HTTP, in one table),
``middleware`` (request ids, the access log and metrics; body limit, no-store),
``routes`` (one router per resource, and ``health``: /healthz, /readyz,
/metrics) and ``schemas`` (their bodies and answers, one module per router).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from o2c import __version__, web
from o2c.api import errors, middleware
from o2c.api.routes import (
    activities,
    audit,
    customers,
    docs,
    health,
    invoices,
    leads,
    ledger,
    opportunities,
    price_lists,
    reports,
    returns,
    sales_orders,
    stock_items,
)
from o2c.application import O2C
from o2c.bootstrap import build_server
from o2c.config import Settings
from o2c.projections import Projector

log = logging.getLogger("o2c.api")


def create_app(settings: Settings | None = None, app: O2C | None = None) -> FastAPI:
    """The API over one application (built from the environment when not given)."""
    server = build_server(settings, app)
    settings, projector = server.settings, server.projector

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        worker, stop = None, threading.Event()
        if settings.server_projector:
            worker = threading.Thread(target=_follow, args=(projector, stop),
                                      name="o2c-projector", daemon=True)
            worker.start()
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                worker.join(timeout=5)
            server.close()  # the application, if built here

    api = FastAPI(
        title="o2c",
        version=__version__,
        summary="Order to cash on one immutable log: CRM and ERP commands, reports, audit.",
        description=(
            "Authenticate with `Authorization: Bearer TOKEN`. Commands accept "
            "`Idempotency-Key` (same key and body: the first answer, nothing recorded "
            "again; another body: 422) and `If-Match: VERSION` (412 on mismatch; a GET "
            "of the current state answers with that version as `ETag`). Errors "
            "are `{\"error\": CODE, \"detail\": TEXT}`. Money and quantities are decimal "
            f"strings. Request bodies are limited to {middleware.MAX_BODY_BYTES} bytes (413)."),
        lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served offline: routes/docs.py
        responses=errors.openapi_responses(),
    )
    api.state.o2c = server.app
    api.state.projector = projector
    api.state.tokens = server.tokens
    api.state.metrics = metrics = middleware.Metrics()
    metrics.registry.register(health.StoreCollector(projector))
    errors.install(api)
    web.install(api)  # the web app's pages first: they share /leads, for browsers only
    for module in (leads, customers, opportunities, stock_items, sales_orders, invoices, ledger,
                   returns, price_lists, reports, activities, audit, health, docs):
        api.include_router(module.router)
    middleware.install(api, metrics)
    _access_log()
    return api


def _access_log() -> None:
    """Where the access log's JSON lines go: wherever logging sends ``o2c.access``; and
    under uvicorn with its access log on (``o2c serve``), to stderr in place of
    uvicorn's own lines, which say less. ``--no-access-log`` or a log level above
    ``info`` turns both off (the bench's servers run so)."""
    access = middleware.access_log
    access.setLevel(logging.INFO)
    uvicorn_access = logging.getLogger("uvicorn.access")
    if (access.handlers or not uvicorn_access.handlers
            or not uvicorn_access.isEnabledFor(logging.INFO)):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    access.propagate = False
    uvicorn_access.disabled = True


#: How often the in-server projector looks for new events.
FOLLOW_SECONDS = 0.1


def _follow(projector: Projector, stop: threading.Event) -> None:
    """Keeps the read models current from inside the server (when no worker runs).

    It only reads while nothing is new (the log's head and the models' position),
    so an idle server takes no write lock; a worker or another server may project
    the same events, and the projector's tracking rows keep them from doing it twice.
    A read model stuck at an event is logged once and tried again now and then
    (``Projector.run_forever``), not every second with a traceback.
    """
    while not stop.is_set():
        try:
            projector.run_forever(stop, FOLLOW_SECONDS)
        except Exception:
            log.exception("projector failed; retrying in a second")
            stop.wait(1.0)


__all__ = ["create_app"]
