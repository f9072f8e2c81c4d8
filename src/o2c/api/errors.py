"""The one table from errors to HTTP answers: ``{"error": CODE, "detail": TEXT}``.

No route builds an error response by hand; they raise, and these handlers
answer. ``STATUSES`` says, per status, which domain or application errors
answer with it, the code of a bare HTTP error with it, and how the OpenAPI spec
describes it on every operation.

Every database error is a 503 with ``Retry-After`` (never a 500): the store
being away, timing out or refusing is not a bug of the server, and a client
may retry (with the same Idempotency-Key, a retried command is never recorded
twice). The body never carries the driver's message (it may hold SQL); the
server's log does.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from o2c.api.schemas.common import ErrorPublic
from o2c.application.runner import OutcomeUnknownError
from o2c.domain.errors import (
    ConcurrencyError,
    DomainError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    O2CError,
    ProjectionStuckError,
    VersionMismatchError,
)

log = logging.getLogger("o2c.api")


@dataclass(frozen=True)
class Status:
    """One HTTP status an error may answer with."""

    status: int
    #: The code of a bare HTTP error (401, 404, 405...); None: ``"error"``.
    code: str | None = None
    #: What it means, listed on every operation of the OpenAPI spec; None: not listed.
    doc: str | None = None
    #: The domain and application errors (and their subclasses) answered with it.
    errors: tuple[type[O2CError], ...] = ()


STATUSES: tuple[Status, ...] = (
    Status(400, "bad_request"),
    Status(401, "unauthorized", "No or bad bearer token"),
    Status(403, "forbidden", "The token's role may not do this"),
    Status(404, "not_found", "Unknown id", (NotFoundError,)),
    Status(405, "method_not_allowed"),
    Status(406, "not_acceptable"),
    Status(409, None, "A business rule refused the command (insufficient_stock, invalid_state, "
                      "unbalanced_entry, period_closed, conflict...); nothing was recorded",
           (ConcurrencyError, DomainError)),
    Status(412, None, "If-Match version mismatch; nothing was recorded",
           (VersionMismatchError,)),
    Status(413, "payload_too_large", "Request body too large"),
    Status(415, "unsupported_media_type"),
    Status(422, "invalid_input", "Invalid input, or an Idempotency-Key reused with another "
                                 "body; nothing was recorded",
           (IdempotencyKeyReusedError, InvalidInputError)),
    Status(503, "unavailable", "The store is unavailable; retry after `Retry-After` seconds "
                               "(a command may have been recorded only if the detail says "
                               "its outcome is unknown: retry it with the same "
                               "Idempotency-Key)", (ProjectionStuckError,)),
)

#: Seconds a client is told to wait (``Retry-After``) before retrying after a 503.
RETRY_AFTER_SECONDS = 2

#: A domain or application error's status, by its class (the first class in an
#: error's MRO that is listed decides).
ERROR_STATUS: dict[type[O2CError], int] = {
    cls: row.status for row in STATUSES for cls in row.errors}

#: The code of a bare HTTP error, by status.
HTTP_CODES: dict[int, str] = {row.status: row.code for row in STATUSES if row.code}


def openapi_responses() -> dict[int | str, dict[str, Any]]:
    """The error answers every operation documents (FastAPI's ``responses``)."""
    return {row.status: {"model": ErrorPublic, "description": row.doc}
            for row in STATUSES if row.doc}


def error(status: int, code: str, detail: str,
          headers: dict[str, str] | None = None) -> JSONResponse:
    """The error body every failure answers with."""
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return JSONResponse({"error": code, "detail": detail}, status_code=status,
                        headers=headers or None)


def status_of(exc: O2CError) -> int:
    """The HTTP status of a domain or application error."""
    return next(ERROR_STATUS[cls] for cls in type(exc).__mro__ if cls in ERROR_STATUS)


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for problem in exc.errors()[:5]:
        if problem.get("type") == "json_invalid":  # say why, not where (a byte offset)
            parts.append(f"invalid JSON: {problem.get('ctx', {}).get('error', 'unreadable')}")
            continue
        where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body")
        parts.append(f"{where}: {problem.get('msg', 'invalid')}" if where
                     else str(problem.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    """Registers the handlers on the app."""

    @app.exception_handler(O2CError)
    def _o2c(_: Request, exc: O2CError) -> JSONResponse:
        status = status_of(exc)
        return error(status, exc.code, exc.message, headers={
            "Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None)

    @app.exception_handler(RequestValidationError)
    def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, "invalid_input", _validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # an unreadable body (bad encoding...): invalid input
            return error(422, "invalid_input", f"unreadable request: {exc.detail}")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every route of the path (GET /leads, POST /leads), not one
            headers["Allow"] = _allowed(request)
        return error(exc.status_code, HTTP_CODES.get(exc.status_code, "error"), str(exc.detail),
                     headers=headers)

    def _store(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, OutcomeUnknownError):
            log.error("command outcome unknown: %s (%r)", exc, exc.__cause__)
            detail = str(exc)
        else:
            log.warning("store unavailable: %r", exc)
            detail = "the store is unavailable; retry shortly"
        return error(503, "unavailable", detail,
                     headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    # eventsourcing's errors (what its recorders and pools raise), and the drivers'
    # own, should one come through unwrapped (o2c's SQLite write transactions use the
    # driver directly).
    for store_error in (PersistenceError, psycopg.Error, sqlite3.Error):
        app.add_exception_handler(store_error, _store)

    @app.exception_handler(Exception)
    def _bug(request: Request, exc: Exception) -> JSONResponse:
        # A bug, never a client's doing: the answer keeps the error shape and says
        # nothing about the internals (the log has the traceback). It is answered
        # outside the middleware, so it echoes the request's id itself.
        request_id = getattr(request.state, "request_id", None)
        log.error("unexpected error (request %s): %r", request_id, exc)
        return error(500, "internal_error", "an unexpected error on the server",
                     headers={"X-Request-ID": request_id} if request_id else None)


def _allowed(request: Request) -> str:
    """The methods some route of the app answers at the request's path (each route is
    asked as the router asks it: included routers keep their routes to themselves)."""
    methods = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            methods.append(method)
    return ", ".join(methods)
