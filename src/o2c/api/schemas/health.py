"""Answers of the operations routes: liveness and readiness."""

from __future__ import annotations

from pydantic import BaseModel


class AlivePublic(BaseModel):
    """The process is up and serving (nothing else is checked)."""

    status: str = "alive"


class ReadModelReadiness(BaseModel):
    """One read model's position behind the log, and whether it is stuck."""

    name: str
    position: int
    lag: int
    stuck: str | None = None


class ReadinessPublic(BaseModel):
    """Whether this server should get traffic: the database answers, and no read model
    trails the log by more than ``max_lag`` events or is stuck. When not ready it
    also carries the error shape (``error``, ``detail``)."""

    ready: bool
    database: str
    head: int | None = None
    max_lag: int
    read_models: list[ReadModelReadiness] = []
    error: str | None = None
    detail: str | None = None
