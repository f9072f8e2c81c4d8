"""eventsourcing's plumbing for o2c: the environment, transcodings, saving and loading.

``Engine`` is eventsourcing 9.5.6's ``Application`` with o2c's adjustments and
nothing of the business: only the explicit environment counts, dates are
stored as ISO text, ``save`` skips per-object protocol checks, aggregates just
saved go into the cache, and ``get`` turns a missing or mistyped aggregate
into o2c's own errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Recording, Transcoding

from o2c.domain.document_series import DocumentSeries
from o2c.domain.errors import NotFoundError, UnknownReferenceError
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem

A = TypeVar("A", bound=Aggregate)


class DateAsISO(Transcoding):
    """Stores ``datetime.date`` values as ISO 8601 text."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Engine(Application[UUID]):
    """The event-sourced application o2c's use cases run on (one log, one repository)."""

    name = "O2C"
    snapshotting_intervals = {StockItem: 100, SalesOrder: 100, DocumentSeries: 100}

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(env=env)

    def construct_env(self, name: str, env: Any = None) -> Any:
        # Only the explicit environment counts: eventsourcing would otherwise
        # let any POSTGRES_* or SQLITE_* variable of the shell override the URL.
        environment = super().construct_env(name, {})
        environment.clear()
        environment.update(env or {})
        if self.snapshotting_intervals:
            environment["IS_SNAPSHOTTING_ENABLED"] = "y"
        return environment

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """As eventsourcing's ``save``, for aggregates only (all that o2c saves).

        eventsourcing's asks of every object whether it is an event or an
        aggregate with ``isinstance`` against runtime-checkable protocols, which
        inspect the class's attributes on each call in Python 3.11 (a twelfth of
        a command's time).
        """
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            assert isinstance(obj, Aggregate), obj
            processing_event.events.extend(obj.collect_events())
            processing_event.aggregates[obj.id] = obj
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def cache(self, aggregates: Sequence[Aggregate]) -> None:
        """Keeps aggregates just saved in the cache.

        eventsourcing does not cache what it saves when fast-forwarding; an
        aggregate just saved is the stored state, so the next command on it
        reads only what others wrote since (usually nothing) instead of its
        snapshot and every event after it.
        """
        cache = self.repository.cache
        if cache is not None:
            for aggregate in aggregates:
                cache.put(aggregate.id, aggregate)

    def get(self, cls: type[A], aggregate_id: UUID | str, what: str, *,
            reference: bool = False) -> A:
        """The aggregate of type ``cls`` with this id: ``NotFoundError`` if there is none
        (``UnknownReferenceError`` when the id was a reference in a command's body)."""
        error = UnknownReferenceError if reference else NotFoundError
        try:
            uid = aggregate_id if isinstance(aggregate_id, UUID) else UUID(str(aggregate_id))
        except ValueError:
            raise error(f"no {what} {aggregate_id!r}") from None
        try:
            aggregate: Aggregate = self.repository.get(uid, projector_func=_project)
        except AggregateNotFoundError:
            raise error(f"no {what} {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise error(f"no {what} {aggregate_id}")
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        """Whether any aggregate has this id."""
        return aggregate_id in self.repository


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    """eventsourcing's ``project_aggregate`` without its per-event protocol check
    (every o2c event is an ``Aggregate.Event``, which can mutate)."""
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate
