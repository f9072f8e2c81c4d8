"""Fields and bases every schema module shares.

Amounts and quantities are decimal strings in JSON (numbers are accepted on
input). Decimal places are checked by the domain against the book currency;
here only shape, size and finiteness are.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from o2c.domain import values
from o2c.domain.stock_item import MAX_SKU

#: Most significant digits of a decimal in a body (the ``decimal`` module's default precision).
MAX_DIGITS = 28

Dec = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=MAX_DIGITS),
                PlainSerializer(str, return_type=str, when_used="json")]
Amount = Annotated[Dec, Field(examples=["1250.00"])]
Quantity = Annotated[Dec, Field(examples=["3"])]
Name = Annotated[str, Field(min_length=1, max_length=values.MAX_TEXT)]
LongText = Annotated[str, Field(min_length=1, max_length=values.MAX_LONG_TEXT)]


def _iso_date(value: object) -> object:
    """Dates come as ISO 8601 text only (not numbers, which pydantic would take as epochs)."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("a date must be ISO 8601 text, YYYY-MM-DD")
    return dt.date.fromisoformat(value)


Day = Annotated[dt.date, BeforeValidator(_iso_date), Field(examples=["2026-12-31"])]
Sku = Annotated[str, Field(min_length=1, max_length=MAX_SKU, examples=["NT-SENSOR-100"])]


class Command(BaseModel):
    """Every command refuses fields it does not know and trims its texts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    """Every response: built from an object's attributes as well as from a dict.

    Decimals are written as strings by their field type (``Dec``), not by this class.
    """

    model_config = ConfigDict(from_attributes=True)


class ErrorPublic(BaseModel):
    """Every error: a stable code and a one-line reason."""

    error: str = Field(examples=["insufficient_stock"])
    detail: str = Field(examples=["NT-SENSOR-100: 100 wanted, 70 available"])


class CommandPublic(Out):
    """What every command answers: the aggregate, its new version, the log position."""

    id: str
    version: int
    position: int = Field(description="Log position of what was recorded; pass it as "
                                      "?after= to a report to read your own write.")
