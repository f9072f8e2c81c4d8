"""The HTTP command API (FastAPI): every business action, safe to retry.

``create_app()`` builds the app from the environment's settings; ``o2c serve``
runs it with uvicorn. Server processes keep no state of their own: idempotency
keys, tokens, events and read models all live in the database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from o2c import __version__
from o2c.api import errors
from o2c.api.models import ErrorPublic
from o2c.api.routes import (
    audit,
    customers,
    leads,
    ledger,
    opportunities,
    reports,
    sales_orders,
    stock_items,
)
from o2c.application import O2C
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.persistence.tokens import TokenStore
from o2c.projections import Projector

log = logging.getLogger("o2c.api")

#: Largest request body accepted, in bytes; larger ones answer 413 before being read.
MAX_BODY_BYTES = 1_000_000


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, before the app sees them.

    A declared ``Content-Length`` over the limit is refused unread; a body sent
    without one (chunked) is read only up to the limit. At most ``limit`` bytes
    are ever held for a request.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(send, self.limit)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _too_large(send, self.limit)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body: Message | None = {"type": "http.request", "body": b"".join(chunks),
                                "more_body": False}

        async def replay() -> Message:
            nonlocal body
            if body is not None:
                message, body = body, None
                return message
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    body = (b'{"error":"payload_too_large","detail":"request bodies are limited to '
            + str(limit).encode() + b' bytes"}')
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings | None = None, app: O2C | None = None) -> FastAPI:
    """The API over one application (built from the environment when not given)."""
    settings = settings or (app.settings if app is not None else Settings())
    owned = app is None  # built here, so closed here when the server stops
    o2c = app or build_app(settings)
    projector = Projector(o2c)

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        worker, stop = None, threading.Event()
        if settings.server_projector:
            worker = threading.Thread(target=_follow, args=(o2c, projector, stop),
                                      name="o2c-projector", daemon=True)
            worker.start()
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                worker.join(timeout=5)
            if owned:
                o2c.close()

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
            f"strings. Request bodies are limited to {MAX_BODY_BYTES} bytes (413)."),
        lifespan=lifespan,
        responses={status: {"model": ErrorPublic, "description": text} for status, text in (
            (401, "No or bad bearer token"),
            (403, "The token's role may not do this"),
            (404, "Unknown id"),
            (409, "A business rule refused the command (insufficient_stock, invalid_state, "
                  "unbalanced_entry, period_closed, conflict...); nothing was recorded"),
            (412, "If-Match version mismatch; nothing was recorded"),
            (413, "Request body too large"),
            (422, "Invalid input, or an Idempotency-Key reused with another body; "
                  "nothing was recorded"),
            (503, "The store is unavailable; retry"),
        )},
    )
    api.state.o2c = o2c
    api.state.projector = projector
    api.state.tokens = TokenStore(o2c.db, settings.bootstrap_token)
    errors.install(api)
    for module in (leads, customers, opportunities, stock_items, sales_orders, ledger, reports,
                   audit):
        api.include_router(module.router)

    @api.middleware("http")
    async def no_store(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    api.add_middleware(BodyLimit)
    return api


#: How often the in-server projector looks for new events.
FOLLOW_SECONDS = 0.1


def _follow(app: O2C, projector: Projector, stop: threading.Event) -> None:
    """Keeps the read models current from inside the server (when no worker runs).

    It only reads while nothing is new (the log's head and the models' position),
    so an idle server takes no write lock; a worker or another server may project
    the same events, and the projector's tracking rows keep them from doing it twice.
    """
    while not stop.is_set():
        try:
            before = projector.position()
            if before < app.db.head() and projector.catch_up() > before:
                continue
        except Exception:
            log.exception("projector failed; retrying in a second")
            stop.wait(1.0)
            continue
        stop.wait(FOLLOW_SECONDS)


__all__ = ["create_app"]
