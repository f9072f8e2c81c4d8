"""The command runner: idempotency, retries and hot locks around every use case.

A use case is a method decorated with ``@command("name", payload_key="param")``.
Callers call it with a ``Context`` (who, under which idempotency key, at which
expected version, on which business date) and its arguments; the runner

1. fingerprints the command (its name and payload: the payload keys are
   declared once, on the decorator, and hashed into stored fingerprints, so
   they never change) and answers a known idempotency key with its stored
   answer, before running it and again whenever it is refused or loses a race
   (a concurrent delivery of the same command may have just committed);
2. calls the use case with an ``Attempt``: the context plus the attempt's
   ``hold`` on hot aggregates' locks, passed explicitly (a use case cannot
   run outside the runner, so it cannot forget the locks);
3. saves every aggregate the use case returns, with the command's audit
   record, in one atomic write, and retries from a fresh load when another
   writer won a race, up to ``MAX_ATTEMPTS`` times, then refuses with
   ``ConcurrencyError``;
4. never answers a write that may have committed with an error: when the
   save fails in a way that leaves the outcome open (the connection dropped
   at ``COMMIT``; the recorder retried a write that had in fact committed and
   met its own events; a snapshot failed after the events committed), it
   looks for the command in the log (by its idempotency key, or by its last
   event, compared byte for byte) and answers as recorded, or with the
   save's error if it is not there; if the store stays away for
   ``RESOLVE_SECONDS`` it says the outcome is unknown (``OutcomeUnknownError``,
   a 503), never that the command failed. Once the write committed, nothing
   after it (releasing the hot locks) fails it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, OperationalError, PersistenceError

from o2c.domain.errors import (
    ConcurrencyError,
    IdempotencyKeyReusedError,
    O2CError,
    VersionMismatchError,
)
from o2c.domain.stock_item import StockItem
from o2c.persistence import log
from o2c.persistence.audit_rows import CommandRecord, dumps
from o2c.persistence.locks import AggregateLocks

if TYPE_CHECKING:
    from o2c.application.engine import Engine
    from o2c.persistence.sql import Database

logger = logging.getLogger("o2c.runner")

MAX_ATTEMPTS = 10
#: How long a command whose write may have committed keeps asking the store whether
#: it did, before answering that the outcome is unknown.
RESOLVE_SECONDS = 3.0
#: The pause between two such questions.
RESOLVE_PAUSE = 0.2
#: How long a stock item that lost a write race counts as hot (see ``HotLocks``).
HOT_SECONDS = 10.0


class OutcomeUnknownError(OperationalError):
    """The store went away while a command was being recorded and did not come back
    within ``RESOLVE_SECONDS`` to say whether it was: retry it with the same
    Idempotency-Key (its first answer comes back if it was recorded)."""


@dataclass(frozen=True)
class Context:
    """Who runs a command and how: actor, idempotency key, expected version, business date."""

    actor: str = "system"
    idempotency_key: str | None = None
    expected_version: int | None = None
    today: date | None = None

    def business_date(self) -> date:
        """The date postings of this command take effect (UTC today unless given)."""
        return self.today or datetime.now(UTC).date()


@dataclass
class Result:
    """A command's answer: the aggregate's id and version, and the log position written."""

    id: str
    version: int
    position: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The answer as plain JSON-ready values."""
        return {"id": self.id, "version": self.version, "position": self.position,
                **self.extra}


#: What a use case returns: its answer and every aggregate to save, in one write.
Outcome = tuple[Result, Sequence[Aggregate]]


class HotLocks:
    """Which aggregates are hot in this process, and their locks.

    A stock item that lost a write race in this process within ``HOT_SECONDS``,
    or any item an attempt that is a retry touches, is written under its lock
    (held from before it is read until the write commits), so contended items
    stop wasting commands on lost races; uncontended ones pay nothing.
    """

    def __init__(self, locks: AggregateLocks) -> None:
        self.locks = locks
        self._lost: dict[UUID, float] = {}

    def lost(self, aggregates: Iterable[Aggregate]) -> None:
        """Marks the stock items among ``aggregates`` as having lost a race just now."""
        now = time.monotonic()
        for aggregate in aggregates:
            if isinstance(aggregate, StockItem):
                self._lost[aggregate.id] = now

    def wanted(self, ids: Sequence[UUID], retrying: bool) -> bool:
        """Whether an attempt touching ``ids`` should hold their locks."""
        now = time.monotonic()
        return retrying or any(now - self._lost.get(i, -HOT_SECONDS) < HOT_SECONDS
                               for i in ids)


@dataclass
class Attempt:
    """One attempt at a command: its context, and its hold on hot aggregates' locks."""

    ctx: Context
    hot: HotLocks
    held: contextlib.ExitStack
    retrying: bool

    def hold(self, ids: Iterable[UUID], *, always: bool = False) -> None:
        """Holds, until this attempt's write commits, the locks of the aggregates it is
        about to read and write, if they are hot (``always``: hot by nature, such as a
        document number series every invoice writes)."""
        wanted = list(ids)
        if wanted and (always or self.hot.wanted(wanted, self.retrying)):
            self.held.enter_context(self.hot.locks.hold(wanted))

    def business_date(self) -> date:
        """The date postings of this command take effect."""
        return self.ctx.business_date()

    def check_version(self, aggregate: Aggregate) -> None:
        """Refuses the command if the caller expected another version of ``aggregate``."""
        expected = self.ctx.expected_version
        if expected is not None and expected != aggregate.version:
            raise VersionMismatchError(f"expected version {expected}, "
                                       f"it is at version {aggregate.version}")


class CommandRunner:
    """Runs use cases: idempotent replay, one atomic write per attempt, bounded retries."""

    def __init__(self, engine: Engine, db: Database, locks: AggregateLocks) -> None:
        self.engine = engine
        self.db = db
        self.hot = HotLocks(locks)

    def run(self, ctx: Context, command: str, payload: Mapping[str, Any],
            use_case: Callable[[Attempt], Outcome]) -> Result:
        """Runs ``use_case`` under ``ctx``; its answer, or the first answer given to the
        same idempotency key and payload."""
        fingerprint = hashlib.sha256(dumps([command, payload]).encode()).hexdigest()
        key = ctx.idempotency_key
        if key is not None:
            prior = self._replay(key, fingerprint)
            if prior is not None:
                return prior
        for attempt in range(MAX_ATTEMPTS):
            held = contextlib.ExitStack()
            try:
                written = self._attempt(ctx, command, fingerprint, use_case,
                                        Attempt(ctx, self.hot, held, attempt > 0))
            except BaseException:
                held.close()
                raise
            try:
                held.close()  # the hot locks: after the write, so never the command's failure
            except Exception as error:  # the write's outcome stands
                logger.warning("%s: hot locks not released cleanly: %r", command, error)
            if written is not None:
                return written
            # Either another writer got to one of these aggregates first (retry from a
            # fresh load, holding the hot ones' locks) or the same key was just used
            # (answer as then).
            if key is not None:
                prior = self._replay(key, fingerprint)
                if prior is not None:
                    return prior
            time.sleep(random.uniform(0, 0.004 * 2**attempt))  # noqa: S311 - jitter
        raise ConcurrencyError(f"{command}: the data kept changing under concurrent writers; "
                               "try again")

    def _attempt(self, ctx: Context, command: str, fingerprint: str,
                 use_case: Callable[[Attempt], Outcome], attempt: Attempt) -> Result | None:
        """One attempt: its answer, or None when it lost a race and wrote nothing."""
        key = ctx.idempotency_key
        try:
            result, aggregates = use_case(attempt)
            record = CommandRecord(
                actor=ctx.actor, idempotency_key=key, command=command,
                fingerprint=fingerprint, result=dumps(
                    {"id": result.id, "version": result.version, "extra": result.extra}))
            pending = [event for aggregate in aggregates for event in aggregate.pending_events]
            try:
                recordings = self.engine.save(*aggregates, o2c=record)
            except IntegrityError:
                # Usually another writer took a version first. But the recorder retries
                # a write whose connection dropped, and if that write had committed the
                # retry meets its own events: then this command is recorded.
                if (mine := self._landed(result, pending, settle=False)) is not None:
                    return mine
                self.hot.lost(aggregates)
                return None
            except PersistenceError as error:
                return self._resolve(command, key, fingerprint, result, pending, error)
        except O2CError:
            # A refusal may come from what a first delivery of this same keyed
            # command just did (its order is confirmed now): that delivery's
            # answer is the answer, not the refusal.
            prior = self._replay(key, fingerprint) if key is not None else None
            if prior is not None:
                return prior
            raise
        self.engine.cache(aggregates)
        result.position = recordings[-1].notification.id if recordings else self.db.head()
        return result

    def _landed(self, result: Result, pending: Sequence[Any], *, settle: bool
                ) -> Result | None:
        """``result`` with its log position if this attempt's events are in the log
        (``settle``: after waiting for a commit that may still be in flight).

        A write is all or nothing, so its last event decides; it is this attempt's
        if its stored bytes are the ones this attempt would store (they carry the
        event's creation time to the microsecond, so another writer's event at that
        version differs).
        """
        if not pending:
            return None
        last = pending[-1]
        found = log.event_at(self.db, last.originator_id, last.originator_version,
                             settle=settle)
        if found is None:
            return None
        position, topic, state = found
        mine = self.engine.mapper.to_stored_event(last)
        if (topic, state) != (mine.topic, bytes(mine.state)):
            return None
        result.position = position
        return result

    def _resolve(self, command: str, key: str | None, fingerprint: str, result: Result,
                 pending: Sequence[Any], error: PersistenceError) -> Result:
        """After a save that failed with its outcome open: the answer if the command is
        recorded; ``error`` again if it is not (the recorder already retried the write
        on a fresh connection: what failed it stands); ``OutcomeUnknownError`` if the
        store does not say within ``RESOLVE_SECONDS``."""
        logger.warning("%s: the write failed with its outcome open (%r); asking the log",
                       command, error)
        deadline = time.monotonic() + RESOLVE_SECONDS
        while True:
            try:
                if key is not None:  # the key's row is written with the events
                    found = self._replay(key, fingerprint)
                else:
                    found = self._landed(result, pending, settle=True)
            except PersistenceError:
                if time.monotonic() + RESOLVE_PAUSE >= deadline:
                    raise OutcomeUnknownError(
                        f"{command}: the store went away while recording it; whether it was "
                        "recorded is unknown. Retry with the same Idempotency-Key.") from error
                time.sleep(RESOLVE_PAUSE)
                continue
            if found is None:
                logger.warning("%s: not recorded", command)
                raise error
            logger.warning("%s: recorded at position %s; answering as recorded",
                           command, found.position)
            return found

    def _replay(self, key: str, fingerprint: str) -> Result | None:
        found = log.find_command(self.db, key)
        if found is None:
            return None
        stored_fingerprint, answer, last_position = found
        if stored_fingerprint != fingerprint:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was already used for a different command or body")
        stored = json.loads(answer)
        return Result(id=stored["id"], version=stored["version"], position=int(last_position),
                      extra=stored["extra"], replayed=True)


def _plain(value: Any) -> Any:
    """A payload value as JSON sees it (mappings as dicts, sequences as lists)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list | tuple):
        return list(value)
    return value


class UseCases:
    """What ``@command`` needs of the object its use cases live on."""

    runner: CommandRunner


S = TypeVar("S", bound=UseCases)
P = ParamSpec("P")


def command(name: str, *, added: tuple[str, ...] = (), **renamed: str) -> Callable[
        [Callable[Concatenate[S, Attempt, P], Outcome]],
        Callable[Concatenate[S, Context, P], Result]]:
    """Declares a use case: the command's stored ``name`` and its payload, which is
    every argument under its own name unless ``renamed`` (``payload_key="argument"``).
    Arguments ``added`` to a command after it was first recorded are left out of the
    payload while they are None, so a retry of a command stored before them keeps its
    fingerprint. The decorated method is called as ``method(ctx, *arguments)``."""
    def decorate(use_case: Callable[Concatenate[S, Attempt, P], Outcome]
                 ) -> Callable[Concatenate[S, Context, P], Result]:
        signature = inspect.signature(use_case)
        arguments = list(signature.parameters)[2:]  # after self and the attempt
        key_of = {argument: argument for argument in arguments}
        for key, argument in renamed.items():
            assert argument in key_of, (name, argument)
            key_of[argument] = key

        @functools.wraps(use_case)
        def run(self: S, ctx: Context, /, *args: P.args, **kwargs: P.kwargs) -> Result:
            bound = signature.bind(self, None, *args, **kwargs)
            bound.apply_defaults()
            payload = {key_of[a]: _plain(bound.arguments[a]) for a in arguments
                       if a not in added or bound.arguments[a] is not None}
            return self.runner.run(ctx, name, payload,
                                   lambda attempt: use_case(self, attempt, *args, **kwargs))
        return run
    return decorate
