"""Money and quantities: exact ``Decimal``, never float.

Amounts are built from strings (or ints) and must be finite and no more
precise than the currency's minor unit: ``"12.345"`` USD is refused, not
rounded. Computed amounts (tax, FIFO cost of part of a layer) are quantized
to the minor unit with banker's rounding at the point they are computed, so
what is posted is exactly what is stored.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from o2c.domain.errors import InvalidAmountError, InvalidQuantityError

ZERO = Decimal("0")

#: Places of a quantity: thousandths of a unit (e.g. metres of cable).
QUANTITY_PLACES = 3
#: Places of a tax rate, e.g. ``0.0825``.
RATE_PLACES = 6
#: The largest amount or quantity accepted: far beyond any real order, small
#: enough that sums stay exact in 64-bit minor units.
MAX_VALUE = Decimal("1000000000000")

# ISO 4217 minor units for the currencies whose exponent is not 2.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3,
                "OMR": 3, "JOD": 3, "TND": 3}


def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for USD, 0 for JPY)."""
    return _MINOR_UNITS.get(currency.upper(), 2)


def _show(value: object) -> str:
    return repr(value) if not isinstance(value, Decimal) else f"'{value}'"


def _to_decimal(value: object, error: type[Exception], what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        # Floats are refused: 0.1 is not one tenth.
        raise error(f"{what} must be a decimal string or an integer, not {_show(value)}")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise error(f"{what} is not a number: {_show(value)}") from None
    if not number.is_finite():
        raise error(f"{what} must be finite, not {_show(value)}")
    if number.copy_abs() > MAX_VALUE:  # copy_abs never overflows, unlike abs()
        raise error(f"{what} is out of range: {_show(value)}")
    return number


def _places(number: Decimal) -> int:
    """Decimal places after dropping trailing zeros, computed exactly.

    (``normalize()`` would round 1E-1000000000 to zero under the context's limits.)
    """
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if trailing == len(digits):  # zero
        return 0
    return max(0, -(exponent + trailing))


def money(value: object, *, places: int = 2, what: str = "amount",
          allow_zero: bool = False, allow_negative: bool = False) -> Decimal:
    """Parses an amount of money, refusing anything inexact.

    Returns the amount quantized to ``places`` (so ``"5"`` becomes ``5.00``).
    """
    number = _to_decimal(value, InvalidAmountError, what)
    if _places(number) > places:
        raise InvalidAmountError(f"{what} has more than {places} decimal places: {_show(value)}")
    if number < ZERO and not allow_negative:
        raise InvalidAmountError(f"{what} must not be negative: {_show(value)}")
    if number == ZERO and not allow_zero:
        raise InvalidAmountError(f"{what} must be greater than zero: {_show(value)}")
    return number.quantize(Decimal(1).scaleb(-places))


def quantity(value: object, *, what: str = "quantity", allow_zero: bool = False) -> Decimal:
    """Parses a quantity of stock: positive (or zero if allowed), at most 3 places."""
    number = _to_decimal(value, InvalidQuantityError, what)
    if _places(number) > QUANTITY_PLACES:
        raise InvalidQuantityError(
            f"{what} has more than {QUANTITY_PLACES} decimal places: {_show(value)}")
    if number < ZERO:
        raise InvalidQuantityError(f"{what} must not be negative: {_show(value)}")
    if number == ZERO and not allow_zero:
        raise InvalidQuantityError(f"{what} must be greater than zero: {_show(value)}")
    return plain(number)


def plain(number: Decimal) -> Decimal:
    """Drops trailing zeros without switching to exponent form (``100``, not ``1E+2``)."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


def rate(value: object, *, what: str = "tax rate") -> Decimal:
    """Parses a rate between 0 and 1, e.g. ``"0.08"`` for 8 %."""
    number = _to_decimal(value, InvalidAmountError, what)
    if _places(number) > RATE_PLACES or not ZERO <= number <= 1:
        raise InvalidAmountError(f"{what} must be between 0 and 1 with at most "
                                 f"{RATE_PLACES} places: {_show(value)}")
    return number


def quantize(amount: Decimal, places: int = 2) -> Decimal:
    """Rounds a computed amount to the minor unit, half to even."""
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def to_minor(amount: Decimal, places: int) -> int:
    """An amount in minor units, e.g. cents (exact: amounts are never more precise)."""
    return int(amount.scaleb(places))


def from_minor(minor: int | None, places: int) -> Decimal:
    """Minor units (e.g. cents) back to an amount with ``places`` decimals (None is 0)."""
    return Decimal(int(minor or 0)).scaleb(-places)
