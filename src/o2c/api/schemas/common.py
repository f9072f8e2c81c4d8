"""Fields and bases every schema module shares, and how bodies' numbers are read.

Amounts and quantities are decimal strings in JSON (``"1250.00"``, ``"3"``),
and only plain ASCII decimals pass (``o2c.domain.money``: no exponents, digit
separators, other scripts' digits, spaces). JSON numbers stay accepted, and
exactly: every route with a body reads it with ``ExactJSONRoute``, which turns a
JSON number into the ``Decimal`` its text says (``12.5``, ``1e3``), never a
float, so ``1e-999999`` is refused for its decimal places instead of becoming
0, and ``0.1`` is one tenth. ``NaN``/``Infinity`` (which Python's JSON reader
accepts) and booleans are refused, as is any float that reaches a number field
some other way. Decimal places and limits are checked by the domain against
the book currency; here only the shape, size and finiteness are. A whole number
of days (``payment_terms_days``) is a JSON integer: not ``true``, ``30.0`` or
``"30"``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from o2c.domain import money, values
from o2c.domain.stock_item import MAX_SKU

#: Most significant digits of a decimal in a body (the ``decimal`` module's default precision).
MAX_DIGITS = 28
#: Digits of a JSON integer read as a Python ``int``; longer ones are read as a Decimal
#: (and refused by the limits), never handed to ``int()``, which refuses 4,300 digits.
_MAX_INT_DIGITS = 40


def _json_integer(text: str) -> int | Decimal:
    return int(text) if len(text) <= _MAX_INT_DIGITS else Decimal(text)


class DuplicateKeyError(ValueError):
    """A JSON object naming a key twice: two parsers could read two different bodies."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKeyError(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


def loads_exact(body: bytes | str) -> Any:
    """JSON with its numbers exact: fractions and exponents as ``Decimal`` (from their
    text), integers as ``int``, and ``NaN``/``Infinity`` as non-finite Decimals that
    every number field refuses; an object naming a key twice is ``DuplicateKeyError``."""
    return json.loads(body, parse_float=Decimal, parse_int=_json_integer,
                      parse_constant=Decimal, object_pairs_hook=_unique)


class _ExactJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_exact_json"):
            body = await self.body()
            text = body.decode("utf-8", "replace")
            try:
                parsed = loads_exact(body)
            except DuplicateKeyError as error:
                raise json.JSONDecodeError(str(error), text, 0) from None
            if not isinstance(parsed, dict):  # every command's body is an object
                raise json.JSONDecodeError("a request body must be a JSON object", text, 0)
            self._exact_json = parsed
        return self._exact_json


class ExactJSONRoute(APIRoute):
    """A route whose JSON body is read by ``loads_exact`` (every router with bodies
    uses it: ``APIRouter(..., route_class=ExactJSONRoute)``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handle(_ExactJSONRequest(request.scope, request.receive))

        return exact


def _number(value: object) -> object:
    """What a number field takes: a plain ASCII decimal string, an integer or an exact
    Decimal (a JSON number); never a boolean, a float, NaN or Infinity."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not {str(value).lower()}")
    if isinstance(value, float):
        raise ValueError("must be a decimal string (\"1250.00\") or an exact JSON number")
    if isinstance(value, str) and not money.is_plain(value):
        raise ValueError("must be a plain decimal such as \"1250.00\": ASCII digits, an "
                         "optional leading '-' and one '.' (no exponent, separators, "
                         "other digits or spaces)")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError("must be a finite number, not NaN or Infinity")
    return value


Dec = Annotated[Decimal, BeforeValidator(_number),
                Field(allow_inf_nan=False, max_digits=MAX_DIGITS),
                PlainSerializer(str, return_type=str, when_used="json")]
#: A whole number (of days...): a JSON integer, not a boolean, a float or text.
Whole = Annotated[int, Field(strict=True)]
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
