"""Small value checks shared by the aggregates: texts, e-mails, dates."""

from __future__ import annotations

import re
from datetime import date, datetime

from o2c.domain.errors import InvalidInputError

MAX_TEXT = 200
MAX_LONG_TEXT = 2000
#: The most days a term (payment terms...) may span.
MAX_DAYS = 3650
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def text(value: object, what: str, *, max_length: int = MAX_TEXT, optional: bool = False) -> str:
    """A trimmed, non-empty, bounded text without control characters."""
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text")
    cleaned = value.strip()
    if not cleaned and not optional:
        raise InvalidInputError(f"{what} must not be empty")
    if len(cleaned) > max_length:
        raise InvalidInputError(f"{what} is longer than {max_length} characters")
    if any(ord(ch) < 32 and ch not in "\t" for ch in cleaned):
        raise InvalidInputError(f"{what} contains control characters")
    return cleaned


def email(value: object, what: str = "email") -> str:
    """A plausible e-mail address (one @, a dot in the domain, no spaces)."""
    address = text(value, what, max_length=254)
    if not _EMAIL.match(address):
        raise InvalidInputError(f"{what} is not an e-mail address: {address!r}")
    return address.lower()


def a_date(value: object, what: str) -> date:
    """A calendar date, from a ``date`` (a ``datetime`` counts as its date) or ISO text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInputError(f"{what} must be an ISO 8601 date: {value!r}")


def mapping(value: object, what: str) -> dict[str, object]:
    """A JSON-object-like line: anything else is invalid input, not a crash."""
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be an object with named fields")
    return value


def whole_days(value: object, what: str, *, maximum: int = MAX_DAYS) -> int:
    """A whole number of days between 0 and ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise InvalidInputError(f"{what} must be a whole number of days from 0 to {maximum}")
    return value
