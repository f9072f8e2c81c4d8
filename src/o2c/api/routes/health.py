"""Operations: liveness (``/healthz``), readiness (``/readyz``), Prometheus metrics
(``/metrics``). docs/operations.md says how to use them.

None of them needs a token: probes and scrapers carry none, and checking one asks
the database, so while the database is away ``/metrics`` could not say so
(``o2c_store_up 0``) if it needed one. They show no business data: counts,
timings, positions (command counts by name are business volume, which is why
docs/operations.md says to keep them on the internal network). None is in the
OpenAPI spec: they are not the business API, whose operations all take a token.

Whatever asks the database here asks it in a probe thread and waits at most
``READY_TIMEOUT`` seconds, so a probe or a scrape answers promptly while the
database is away (the pool alone would wait its checkout timeout).
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from o2c.api.deps import ProjectorDep
from o2c.api.errors import RETRY_AFTER_SECONDS
from o2c.api.schemas.health import AlivePublic, ReadinessPublic, ReadModelReadiness
from o2c.projections import Projector
from o2c.projections.projector import Health, Stuck

#: Seconds the database has to answer a readiness probe or a scrape.
READY_TIMEOUT = 1.0
#: Events a read model may trail the log by and still be ready.
READY_MAX_LAG = 10_000

#: What a probe of the store may fail with (besides not answering in time).
STORE_ERRORS = (PersistenceError, psycopg.Error, sqlite3.Error, TimeoutError)

router = APIRouter(tags=["operations"], include_in_schema=False)

# Probes ask in threads of their own, and callers arriving while one is still waiting
# for the database share its answer: probes and scrapes that come faster than a
# database that is away answers never pile up behind each other.
_probes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="o2c-probe")
_asking: weakref.WeakKeyDictionary[Projector, Future[Health]] = weakref.WeakKeyDictionary()
_asking_guard = threading.Lock()


def read_store(projector: Projector) -> Health:
    """The log's head, each read model's position and the stuck ones
    (``Projector.health``), asked of the database within ``READY_TIMEOUT`` seconds
    (``TimeoutError`` else)."""
    with _asking_guard:
        asking = _asking.get(projector)
        if asking is None or asking.done():
            asking = _asking[projector] = _probes.submit(projector.health)
    return asking.result(READY_TIMEOUT)


@router.get("/healthz", response_model=AlivePublic)
def healthz() -> AlivePublic:
    """Alive: the process serves requests (the database is not asked)."""
    return AlivePublic()


@router.get("/readyz", response_model=ReadinessPublic)
def readyz(projector: ProjectorDep, response: Response) -> ReadinessPublic:
    """Ready: the database answers within ``READY_TIMEOUT`` s, and every read model is
    within ``READY_MAX_LAG`` events of the log's head and not stuck. 503 otherwise."""
    try:
        health = read_store(projector)
    except STORE_ERRORS as error:
        why = (f"the database did not answer within {READY_TIMEOUT:g} s"
               if isinstance(error, TimeoutError) else "the database is unavailable")
        return _not_ready(response, ReadinessPublic(
            ready=False, database="unavailable", max_lag=READY_MAX_LAG), why)
    stuck = {s.name: _where(s) for s in health.stuck}
    models = [ReadModelReadiness(name=name, position=position, lag=health.head - position,
                                 stuck=stuck.get(name))
              for name, position in health.positions.items()]
    answer = ReadinessPublic(ready=True, database="ok", max_lag=READY_MAX_LAG,
                             head=health.head, read_models=models)
    if stuck:
        return _not_ready(response, answer, "; ".join(stuck.values()))
    behind = [f"{m.name} ({m.lag} events)" for m in models if m.lag > READY_MAX_LAG]
    if behind:
        return _not_ready(response, answer, f"read models more than {READY_MAX_LAG} events "
                                            "behind the log: " + ", ".join(behind))
    return answer


def _where(stuck: Stuck) -> str:
    """Where a read model is stuck: the event's position and type, not the error's
    text, which may quote SQL and is for the server's log and ``o2c projections
    status``, not for anyone who can reach an unauthenticated probe."""
    return f"read model {stuck.name} is stuck at log position {stuck.position} ({stuck.topic})"


def _not_ready(response: Response, answer: ReadinessPublic, why: str) -> ReadinessPublic:
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return answer.model_copy(update={"ready": False, "error": "not_ready", "detail": why})


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus metrics, in the text exposition format."""
    return Response(generate_latest(request.app.state.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)


class StoreCollector(Collector):
    """The log's head and the read models' positions, lag and stuck state, read at
    each scrape (``o2c_store_up`` is 0, and the rest absent, when the database does
    not answer within ``READY_TIMEOUT`` s)."""

    def __init__(self, projector: Projector) -> None:
        self.projector = projector

    def describe(self) -> Iterable[Metric]:
        return []  # registered without a probe of the database

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("o2c_store_up", "1 when the database answered this scrape "
                               f"within {READY_TIMEOUT:g} s, else 0.")
        try:
            health = read_store(self.projector)
        except STORE_ERRORS:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        head = GaugeMetricFamily("o2c_log_head_position",
                                 "Log position of the newest event (the chain's head).")
        head.add_metric([], health.head)
        yield head
        position = GaugeMetricFamily("o2c_projector_position",
                                     "Log position each read model has reached.",
                                     labels=["read_model"])
        lag = GaugeMetricFamily("o2c_projector_lag_events",
                                "Events each read model trails the log by.",
                                labels=["read_model"])
        stuck = GaugeMetricFamily("o2c_projector_stuck",
                                  "1 when a read model is stuck behind an event it cannot "
                                  "apply, else 0.", labels=["read_model"])
        stuck_names = {s.name for s in health.stuck}
        for name, at in health.positions.items():
            position.add_metric([name], at)
            lag.add_metric([name], health.head - at)
            stuck.add_metric([name], 1 if name in stuck_names else 0)
        yield from (position, lag, stuck)
