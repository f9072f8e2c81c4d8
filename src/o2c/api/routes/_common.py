"""Small helpers shared by the routers."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from fastapi import Body, Response

from o2c.api.schemas.common import CommandPublic
from o2c.application import Result
from o2c.projections import Projector

P = TypeVar("P", bound=CommandPublic)


class _Versioned(Protocol):
    version: int


V = TypeVar("V", bound=_Versioned)

#: The longest a query waits for the read models to reach a position.
WAIT_SECONDS = 2.0


def answer(result: Result, model: type[P]) -> P:
    """A command's result as its response model."""
    return model.model_validate(result.as_dict())


def example(summary: str, value: dict[str, Any]) -> Any:
    """A request body with one named example for the OpenAPI spec."""
    return Body(openapi_examples={"example": {"summary": summary, "value": value}})


def lines_of(lines: list[Any]) -> list[dict[str, Any]]:
    """Body lines as plain dicts (amounts stay Decimal)."""
    return [line.model_dump(exclude_none=True) for line in lines]


def fresh(projector: Projector, after: int | None) -> int:
    """Waits (up to ``WAIT_SECONDS``) for the read models to reach ``after``; their position.

    A position past the log's head cannot be reached by waiting, so the wait
    stops at the head: a made-up position costs no more than a real one.
    """
    if after is not None:
        projector.wait_for(min(after, projector.head()), timeout=WAIT_SECONDS)
    return projector.position()


def versioned(response: Response, state: V) -> V:
    """A current state, with its version as ``ETag`` (send it back as ``If-Match``)."""
    response.headers["ETag"] = f'"{state.version}"'
    return state
