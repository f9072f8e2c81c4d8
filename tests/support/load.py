"""HTTP load for the reliability tests: clients that record every answer they got.

Every command is sent with an ``Idempotency-Key`` of its own (or a shared one,
on purpose), so the log can be checked against the answers afterwards: every
key answered 2xx must be in the log, every key refused (4xx) must not.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    """One request and what came back (status 0: no answer, the connection failed)."""

    server: str
    path: str
    key: str | None
    status: int
    body: Any
    seconds: float
    retry_after: str | None = None
    error: str = ""


@dataclass
class Answers:
    """Every answer of a run, from every thread."""

    items: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: Answer) -> None:
        with self.lock:
            self.items.append(answer)

    def with_status(self, low: int, high: int) -> list[Answer]:
        with self.lock:
            return [a for a in self.items if low <= a.status < high]

    def acknowledged(self) -> dict[str, Answer]:
        """Keys answered 2xx (the first such answer of each)."""
        found: dict[str, Answer] = {}
        for answer in self.with_status(200, 300):
            if answer.key is not None:
                found.setdefault(answer.key, answer)
        return found

    def summary(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        with self.lock:
            for answer in self.items:
                counts[answer.status] = counts.get(answer.status, 0) + 1
        return dict(sorted(counts.items()))


def new_key(prefix: str = "k") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def post(client: httpx.Client, base: str, path: str, body: dict[str, Any], token: str,
         answers: Answers | None = None, key: str | None = None,
         timeout: float = 60.0) -> Answer:
    """POSTs one command; records and returns what came back (never raises)."""
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    started = time.monotonic()
    try:
        response = client.post(base + path, json=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        answer = Answer(base, path, key, 0, None, time.monotonic() - started,
                        error=type(error).__name__)
    else:
        try:
            parsed = response.json()
        except ValueError:
            parsed = response.text
        answer = Answer(base, path, key, response.status_code, parsed,
                        time.monotonic() - started, response.headers.get("Retry-After"))
    if answers is not None:
        answers.add(answer)
    return answer


def post_until_answered(client: httpx.Client, bases: Sequence[str], path: str,
                        body: dict[str, Any], token: str, answers: Answers, key: str,
                        seconds: float = 90.0, start: int = 0) -> Answer:
    """Sends one keyed command until some server answers it with 2xx or 4xx (a client
    retrying through crashes and outages: the same key every time, the next server
    after each failure). The last answer is returned (status 0 or 5xx: gave up)."""
    deadline = time.monotonic() + seconds
    turn = start
    while True:
        answer = post(client, bases[turn % len(bases)], path, body, token, answers, key,
                      timeout=30.0)
        if 200 <= answer.status < 500 or time.monotonic() > deadline:
            return answer
        turn += 1
        time.sleep(0.05)
