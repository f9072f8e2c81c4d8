"""The one table from errors to HTTP answers: ``{"error": CODE, "detail": TEXT}``.

No route builds an error response by hand; they raise, and these handlers answer.
"""

from __future__ import annotations

import logging

from eventsourcing.persistence import OperationalError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from o2c.domain.errors import (
    ConcurrencyError,
    DomainError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    O2CError,
    VersionMismatchError,
)

log = logging.getLogger("o2c.api")

#: Most specific first: the first class an error is an instance of decides.
ERROR_STATUS: tuple[tuple[type[O2CError], int], ...] = (
    (NotFoundError, 404),
    (VersionMismatchError, 412),
    (IdempotencyKeyReusedError, 422),
    (InvalidInputError, 422),
    (ConcurrencyError, 409),
    (DomainError, 409),
)

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large",
              415: "unsupported_media_type", 422: "invalid_input", 503: "unavailable"}


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
    return next(status for cls, status in ERROR_STATUS if isinstance(exc, cls))


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for problem in exc.errors()[:5]:
        where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body")
        parts.append(f"{where}: {problem.get('msg', 'invalid')}" if where
                     else str(problem.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    """Registers the handlers on the app."""

    @app.exception_handler(O2CError)
    def _o2c(_: Request, exc: O2CError) -> JSONResponse:
        return error(status_of(exc), exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, "invalid_input", _validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # an unreadable body (bad encoding...): invalid input
            return error(422, "invalid_input", f"unreadable request: {exc.detail}")
        return error(exc.status_code, HTTP_CODES.get(exc.status_code, "error"), str(exc.detail),
                     headers=dict(exc.headers or {}))

    @app.exception_handler(OperationalError)
    def _store_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        return error(503, "unavailable", "the store is unavailable; retry shortly")

    @app.exception_handler(PersistenceError)
    def _store_error(_: Request, exc: PersistenceError) -> JSONResponse:
        log.error("store error: %s", exc)
        return error(503, "unavailable", "the store refused the operation; retry shortly")

    @app.exception_handler(Exception)
    def _bug(_: Request, exc: Exception) -> JSONResponse:
        # A bug, never a client's doing: the answer keeps the error shape and says
        # nothing about the internals (the log has the traceback).
        log.error("unexpected error: %r", exc)
        return error(500, "internal_error", "an unexpected error on the server")
