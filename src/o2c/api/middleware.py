"""What wraps every request: its id, access log line and metrics (``Observe``), the
body-size limit, and ``Cache-Control: no-store``."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The logger of the access log: one JSON object per request, at INFO.
access_log = logging.getLogger("o2c.access")

#: A client's ``X-Request-ID`` is kept if it looks like this (else one is made up).
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: Latency buckets, in seconds: commands take milliseconds, a report may wait up to
#: 2 s for the read models, and a request waits up to a few seconds for a store that
#: is away before answering 503.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0)


def outcome(status: int) -> str:
    """A command's outcome, by the status it answered with."""
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    if status in (404, 409, 412):
        return "refused"
    if status == 503:
        return "unavailable"
    if status >= 500:
        return "error"
    return "invalid"


class Metrics:
    """The request metrics of one app, in a registry of its own (not the process-wide
    default one: tests and a process may build several apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "o2c_http_requests", "HTTP requests answered, by route and status.",
            ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "o2c_http_request_duration_seconds",
            "Time from a request's arrival to its answer's last byte, by route.",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.commands = Counter(
            "o2c_commands", "Commands (POST routes), by name and outcome: ok, refused "
            "(404, 409, 412), invalid (4xx input), denied (401, 403), unavailable (503), error.",
            ["command", "outcome"], registry=self.registry)

        #: The labelled series of each (method, route, status), looked up once: a
        #: third of what observing cost per request went into ``labels``.
        #: Keyed by the route's id: routes are not hashable, and live as long as the app.
        self._series: dict[tuple[str, int, int], tuple[Any, Any, Any]] = {}

    def observe(self, method: str, route: Any, status: int, seconds: float) -> None:
        """Counts one answered request."""
        key = (method, id(route), status)
        series = self._series.get(key)
        if series is None:
            template = getattr(route, "path_format", None) or "<unmatched>"
            command = (self.commands.labels(getattr(route, "name", template), outcome(status))
                       if method == "POST" and route is not None else None)
            series = (self.requests.labels(method, template, str(status)),
                      self.latency.labels(method, template), command)
            if len(self._series) < 10_000:  # methods x routes x statuses: bounded anyway
                self._series[key] = series
        requests, latency, command = series
        requests.inc()
        latency.observe(seconds)
        if command is not None:
            command.inc()


class Observe:
    """Gives every request an id (the client's ``X-Request-ID`` if sane, else a new
    one, echoed back), writes one JSON line per request to the ``o2c.access`` log
    (id, method, path, status, actor, duration in ms) and counts it in ``metrics``.

    The actor is what authentication put in the request's state (``actor``); the
    id is in it too (``request_id``), for the error handlers.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            seconds = time.perf_counter() - started
            self.metrics.observe(scope["method"], scope.get("route"), status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(orjson.dumps({
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "request_id": request_id, "method": scope["method"],
                    "path": scope.get("path", ""), "status": status,
                    "actor": state.get("actor"),
                    "duration_ms": round(seconds * 1000, 2)}).decode())

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


async def no_store(request: Request,
                   call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Answers are never cached: every one is the current state (or an error)."""
    response = await call_next(request)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def install(api: FastAPI, metrics: Metrics) -> None:
    """Wraps the app: ``Observe`` outermost (so a 413 is logged and counted too), then
    the body limit, then ``no_store``."""
    api.middleware("http")(no_store)
    api.add_middleware(BodyLimit)
    api.add_middleware(Observe, metrics=metrics)
