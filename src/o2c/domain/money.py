"""Money and quantities: exact ``Decimal``, never float.

What is accepted as a number, everywhere (the API, the CLI, the use cases):

- text only when it is a *plain ASCII decimal*: an optional ``-``, ASCII digits,
  optionally a ``.`` and more digits (``"1250.00"``, ``"3"``, ``"-4.5"``). No
  exponents (``"1E+2"``), digit separators (``"1_000"``, ``"1,000"``), other
  scripts' digits (Arabic-Indic, full-width), signs other than a leading ``-``, or
  spaces: Python's ``Decimal()`` takes all of those, o2c does not;
- an ``int`` (not a ``bool``) or a finite ``Decimal`` (which is what a JSON number
  becomes: the API reads JSON numbers from their text, exactly, see
  ``o2c.api.schemas.common``);
- never a ``float``: 0.1 is not one tenth.

Amounts must be no more precise than the currency's minor unit (``"12.345"``
USD is refused, not rounded) and quantities no more precise than a thousandth.
Zero is always unsigned: ``"-0"`` is 0, never ``-0.00``.

Limits. Read models store money as 64-bit integers of minor units and
quantities as 64-bit integers of thousandths, and sum them (balances, stock,
an order's figures). Every figure o2c records, given or derived, is kept within
``MAX_AMOUNT`` (money) or ``MAX_QUANTITY`` (a quantity) so that those sums stay
exact with room to spare: at most 10^15 minor units per figure (three-place
currencies), so more than 9,000 figures at the very limit, or any book whose
totals stay under 9.2 x 10^15 of its currency, fit a 64-bit sum. Derived figures
are checked where they are computed, before any event is triggered:

- a line's total (quantity x unit price), an order's net and total with tax;
- an invoice's total, a payment;
- a receipt's value (quantity x unit cost), a count's value, a shipment's cost;
- a journal entry's total (sum of its debits).

Computed amounts (tax, FIFO cost of part of a layer) are quantized to the minor
unit with banker's rounding at the point they are computed, so what is posted
is exactly what is stored.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from o2c.domain.currencies import MINOR_UNITS, PUBLISHED
from o2c.domain.errors import InvalidAmountError, InvalidInputError, InvalidQuantityError

ZERO = Decimal("0")

#: Places of a quantity: thousandths of a unit (e.g. metres of cable).
QUANTITY_PLACES = 3
#: Places of a tax rate, e.g. ``0.0825``.
RATE_PLACES = 6
#: The largest amount of money of any one figure, given or derived (a price, a
#: line's total, an order's total with tax, an invoice, a payment, a receipt's or a
#: count's value, a shipment's cost, a journal entry's total): a trillion.
MAX_AMOUNT = Decimal("1000000000000")
#: The largest quantity of one line, shipment, receipt or count: a billion units
#: (10^12 thousandths).
MAX_QUANTITY = Decimal("1000000000")
#: The largest amount accepted as input (the name older callers use).
MAX_VALUE = MAX_AMOUNT

#: A plain ASCII decimal: ``[0-9]``, not ``\d`` (which matches any script's digits).
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
#: Longest number text looked at: far more than any figure within the limits needs.
_MAX_TEXT = 64

def minor_units(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 for USD, 0 for JPY, 3 for KWD), from
    the ISO 4217 list (``currencies.py``); an unknown code, or one without a minor unit
    (gold, funds), is refused."""
    try:
        return MINOR_UNITS[currency.upper()]
    except KeyError:
        raise InvalidInputError(f"{currency!r} is not an ISO 4217 currency with a minor unit "
                                f"(list of {PUBLISHED})") from None


def _show(value: object) -> str:
    shown = repr(value) if not isinstance(value, Decimal) else f"'{value}'"
    return shown if len(shown) <= 40 else shown[:37] + "..."


def is_plain(text: str) -> bool:
    """Whether ``text`` is a plain ASCII decimal (``"-12.50"``; no exponent, no spaces)."""
    return len(text) <= _MAX_TEXT and _PLAIN.fullmatch(text) is not None


def _to_decimal(value: object, error: type[Exception], what: str,
                limit: Decimal = MAX_AMOUNT) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        # Floats are refused: 0.1 is not one tenth.
        raise error(f"{what} must be a decimal string or an integer, not {_show(value)}")
    if isinstance(value, str) and not is_plain(value):
        raise error(f"{what} must be a plain decimal such as \"1250.00\" (ASCII digits, "
                    f"an optional leading '-' and one '.'), not {_show(value)}")
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):  # pragma: no cover - plain text always parses
        raise error(f"{what} is not a number: {_show(value)}") from None
    if not number.is_finite():
        raise error(f"{what} must be finite, not {_show(value)}")
    if number.copy_abs() > limit:  # copy_abs never overflows, unlike abs()
        raise error(f"{what} is out of range: {_show(value)} is beyond the limit of {limit}")
    return unsigned_zero(number)


def unsigned_zero(number: Decimal) -> Decimal:
    """``number``, with a negative zero (``-0``, ``-0.00``) made plain zero."""
    return number.copy_abs() if number.is_zero() else number


def check_amount(amount: Decimal, what: str, *,
                 error: type[Exception] = InvalidAmountError) -> Decimal:
    """Refuses a derived amount (a line's total, a receipt's value...) beyond
    ``MAX_AMOUNT``, naming it; returns it otherwise."""
    if amount.copy_abs() > MAX_AMOUNT:
        raise error(f"{what} would be {amount}, beyond the limit of {MAX_AMOUNT} "
                    "for any one figure")
    return amount


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
    return unsigned_zero(number.quantize(Decimal(1).scaleb(-places)))


def quantity(value: object, *, what: str = "quantity", allow_zero: bool = False) -> Decimal:
    """Parses a quantity of stock: positive (or zero if allowed), at most 3 places."""
    number = _to_decimal(value, InvalidQuantityError, what, MAX_QUANTITY)
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
        return unsigned_zero(number.quantize(Decimal(1)))
    return number.normalize()


def rate(value: object, *, what: str = "tax rate") -> Decimal:
    """Parses a rate between 0 and 1, e.g. ``"0.08"`` for 8 %."""
    number = _to_decimal(value, InvalidAmountError, what)
    if _places(number) > RATE_PLACES or not ZERO <= number <= 1:
        raise InvalidAmountError(f"{what} must be between 0 and 1 with at most "
                                 f"{RATE_PLACES} places: {_show(value)}")
    return number


def quantize(amount: Decimal, places: int = 2) -> Decimal:
    """Rounds a computed amount to the minor unit, half to even (zero unsigned)."""
    return unsigned_zero(amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN))


def to_minor(amount: Decimal, places: int) -> int:
    """An amount in minor units, e.g. cents (exact: amounts are never more precise)."""
    return int(amount.scaleb(places))


def from_minor(minor: int | None, places: int) -> Decimal:
    """Minor units (e.g. cents) back to an amount with ``places`` decimals (None is 0)."""
    return Decimal(int(minor or 0)).scaleb(-places)
