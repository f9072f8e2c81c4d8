"""Small helpers shared by the routers."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Body

from o2c.api.models import CommandPublic
from o2c.application import Result

P = TypeVar("P", bound=CommandPublic)


def answer(result: Result, model: type[P]) -> P:
    """A command's result as its response model."""
    return model.model_validate(result.as_dict())


def example(summary: str, value: dict[str, Any]) -> Any:
    """A request body with one named example for the OpenAPI spec."""
    return Body(openapi_examples={"example": {"summary": summary, "value": value}})


def lines_of(lines: list[Any]) -> list[dict[str, Any]]:
    """Body lines as plain dicts (amounts stay Decimal)."""
    return [line.model_dump(exclude_none=True) for line in lines]
