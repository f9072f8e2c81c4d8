"""Currency minor units come from ISO 4217 (the ``iso4217`` package), not a hand-kept table."""

from __future__ import annotations

import iso4217
import pytest

from o2c.domain import currencies, money
from o2c.domain.errors import InvalidInputError


def test_the_table_is_the_installed_iso_4217_list() -> None:
    """Fails when the package is upgraded and ``scripts/update-currencies`` was not run."""
    expected = {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None}
    assert expected == currencies.MINOR_UNITS
    assert str(iso4217.__published__) == currencies.PUBLISHED


@pytest.mark.parametrize(("code", "places"), [
    ("USD", 2), ("eur", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4),
    ("UYW", 4), ("CHF", 2)])
def test_minor_units_by_code(code: str, places: int) -> None:
    assert money.minor_units(code) == places


@pytest.mark.parametrize("code", ["XAU", "XXX", "XTS", "ABC", "US", ""])
def test_a_code_without_a_minor_unit_is_refused(code: str) -> None:
    with pytest.raises(InvalidInputError, match="ISO 4217"):
        money.minor_units(code)
