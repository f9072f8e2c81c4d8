"""What wraps every request: the body-size limit and ``Cache-Control: no-store``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def install(api: FastAPI) -> None:
    """Wraps the app: the body limit outermost, then ``no_store``."""
    api.middleware("http")(no_store)
    api.add_middleware(BodyLimit)
