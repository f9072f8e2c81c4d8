"""Money and quantities: exact Decimals from text, anything inexact refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2c.domain import money
from o2c.domain.errors import InvalidAmountError, InvalidInputError, InvalidQuantityError
from o2c.domain.money import ZERO, minor_units, plain, quantize
from strategies import (
    amount_decimals,
    decimal_texts,
    invalid_amounts,
    invalid_quantities,
    quantity_decimals,
)

# Tiny and huge exponents: Decimal parses them exactly, but the default context
# (Emin -999999, Emax 999999) underflows or overflows them in any arithmetic.
UNDERFLOWING = ["1e-1000000000", "1E-999999999999999999", "0.5e-1000030"]
OVERFLOWING = ["1e1000000", "1E+999999999999999999", "-1e999999999"]


# Parsing amounts -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("12.5", Decimal("12.50")), ("12.50", Decimal("12.50")), ("7", Decimal("7.00")),
    ("3.10", Decimal("3.10")), (Decimal("1E+2"), Decimal("100.00")), (5, Decimal("5.00")),
    (Decimal("0.01"), Decimal("0.01")), ("1000000000000", Decimal("1000000000000.00")),
    ("007.5", Decimal("7.50")),
])
def test_amounts_are_parsed_exactly_and_quantized_to_the_cent(text: object,
                                                              expected: Decimal) -> None:
    parsed = money.money(text)
    assert parsed == expected
    assert parsed.as_tuple().exponent == -2  # always in cents, "7" -> 7.00


@pytest.mark.parametrize("value", ["NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity",
                                   "inf", "1e400", "-1e400", "1000000000000.01"])
def test_non_finite_and_out_of_range_amounts_are_refused(value: str) -> None:
    with pytest.raises(InvalidAmountError):
        money.money(value)


@pytest.mark.parametrize("value", [0.1, 1.0, 12.5, float("nan"), float("inf")])
def test_floats_are_refused_even_when_they_look_exact(value: float) -> None:
    with pytest.raises(InvalidAmountError, match="decimal string or an integer"):
        money.money(value)


@pytest.mark.parametrize("value", ["12.345", "0.001", "1.999", "0.005"])
def test_over_precise_amounts_are_refused_not_rounded(value: str) -> None:
    with pytest.raises(InvalidAmountError, match="decimal places"):
        money.money(value)


@pytest.mark.parametrize("value", ["0", "0.00", "-0", "0E-5", "-0.01", "-12", 0, -3])
def test_zero_and_negative_amounts_are_refused_by_default(value: object) -> None:
    with pytest.raises(InvalidAmountError):
        money.money(value)


def test_zero_and_negative_amounts_are_accepted_only_when_asked() -> None:
    assert money.money("0", allow_zero=True) == ZERO
    assert money.money("-4.5", allow_negative=True) == Decimal("-4.50")
    with pytest.raises(InvalidAmountError):
        money.money("-4.5", allow_zero=True)  # zero allowed is not negative allowed


@pytest.mark.parametrize("value", [None, True, False, [], {}, b"1", "", "  ", "ten", "1,5",
                                   "1.2.3", "0x10", "--1"])
def test_things_that_are_not_numbers_are_refused(value: object) -> None:
    with pytest.raises(InvalidAmountError):
        money.money(value)


#: Text Python's Decimal() reads as a number, and o2c does not: only plain ASCII decimals.
LOOSE = ["\u0661\u0662\u0663", "\uff15", "1_000", "1E+2", "1e3", "+5", " 3.10 ", "5\n",
         ".5", "5.", "\u00a05", "\u0661.\u0665", "\u0663"]


@pytest.mark.parametrize("value", LOOSE)
def test_only_plain_ascii_decimal_text_is_a_number(value: str) -> None:
    Decimal(value)  # all of these are numbers to Python
    assert not money.is_plain(value)
    with pytest.raises(InvalidAmountError, match="plain decimal"):
        money.money(value, allow_zero=True)
    with pytest.raises(InvalidQuantityError, match="plain decimal"):
        money.quantity(value, allow_zero=True)
    with pytest.raises(InvalidAmountError, match="plain decimal"):
        money.rate(value)


@pytest.mark.parametrize("value", ["-0", "-0.00", "-0.000", Decimal("-0"), Decimal("-0E-7"), 0])
def test_minus_zero_is_zero(value: object) -> None:
    for parsed in (money.money(value, allow_zero=True), money.quantity(value, allow_zero=True),
                   money.money(value, allow_zero=True, allow_negative=True)):
        assert parsed == ZERO
        assert not parsed.is_signed()
        assert not str(parsed).startswith("-")
    assert str(money.money(value, allow_zero=True)) == "0.00"
    assert str(money.quantity(value, allow_zero=True)) == "0"


def test_computed_zeros_are_unsigned() -> None:
    assert str(quantize(Decimal("-0.004"))) == "0.00"
    assert str(quantize(-Decimal("0.00"))) == "0.00"
    assert str(plain(Decimal("-0.000"))) == "0"


def test_limits_of_any_one_figure() -> None:
    assert money.money(str(money.MAX_AMOUNT)) == money.MAX_AMOUNT
    with pytest.raises(InvalidAmountError, match="limit"):
        money.money(str(money.MAX_AMOUNT + Decimal("0.01")))
    assert money.quantity(str(money.MAX_QUANTITY)) == money.MAX_QUANTITY
    with pytest.raises(InvalidQuantityError, match="limit"):
        money.quantity(str(money.MAX_QUANTITY + Decimal("0.001")))
    assert money.check_amount(-money.MAX_AMOUNT, "x") == -money.MAX_AMOUNT
    with pytest.raises(InvalidAmountError, match="line 1 total would be"):
        money.check_amount(money.MAX_AMOUNT + 1, "line 1 total")
    # The largest figures, in the smallest unit the read models store (three-place
    # currencies; thousandths of a unit), leave room for thousands of them in a sum.
    int64 = 2**63 - 1
    assert money.to_minor(money.MAX_AMOUNT, 3) * 9000 < int64
    assert int(money.MAX_QUANTITY.scaleb(money.QUANTITY_PLACES)) * 9_000_000 < int64
    # The biggest product of two figures within their limits is exact in the context.
    product = Decimal("999999999.999") * Decimal("999999999999.999")
    assert product == Decimal(999999999999 * 999999999999999).scaleb(-6)


def test_an_over_long_text_is_refused_and_not_echoed_whole() -> None:
    with pytest.raises(InvalidAmountError) as refused:
        money.money("1" * 100_000)
    assert len(str(refused.value)) < 300


def test_a_zero_decimal_currency_refuses_cents() -> None:
    assert minor_units("JPY") == 0
    assert minor_units("usd") == 2
    assert minor_units("KWD") == 3
    assert money.money("500", places=0) == Decimal(500)
    with pytest.raises(InvalidAmountError):
        money.money("500.5", places=0)
    assert money.money("1.234", places=3) == Decimal("1.234")


@pytest.mark.parametrize("value", UNDERFLOWING)
def test_amounts_too_small_for_a_cent_are_refused_not_turned_into_zero(value: str) -> None:
    with pytest.raises(InvalidAmountError):
        money.money(value)
    # As a Decimal (what a JSON number becomes), refused for its places, not as text.
    with pytest.raises(InvalidAmountError, match="decimal places"):
        money.money(Decimal(value), allow_zero=True)


@pytest.mark.parametrize("value", OVERFLOWING)
def test_amounts_with_huge_exponents_are_refused_as_invalid_amounts(value: str) -> None:
    with pytest.raises(InvalidAmountError):
        money.money(value)
    with pytest.raises(InvalidAmountError, match="limit"):
        money.money(Decimal(value), allow_negative=True)


@given(st.one_of(st.text(max_size=40),
                 st.text(alphabet="0123456789eE+-._ naifty", max_size=8)))
def test_any_text_gives_an_amount_in_cents_or_invalid_amount(value: str) -> None:
    try:
        parsed = money.money(value)
    except InvalidAmountError:
        return
    assert parsed > ZERO
    assert parsed.as_tuple().exponent == -2
    assert parsed == Decimal(value)  # accepted only when exact
    assert money.is_plain(value)
    assert value.isascii()


@given(invalid_amounts)
def test_every_invalid_amount_raises_invalid_amount_error(value: object) -> None:
    with pytest.raises(InvalidAmountError):
        money.money(value)


@given(amount_decimals)
def test_amounts_round_trip_through_text(amount: Decimal) -> None:
    parsed = money.money(str(amount))
    assert parsed == amount
    assert money.money(str(parsed)) == parsed  # parse(format(x)) == x


@given(decimal_texts)
def test_signed_amounts_round_trip_when_negatives_are_allowed(text: str) -> None:
    parsed = money.money(text, allow_zero=True, allow_negative=True)
    assert parsed == Decimal(text)
    expected = str(Decimal(text).quantize(Decimal("0.01")))
    assert str(parsed) == ("0.00" if expected == "-0.00" else expected)
    assert not parsed.is_signed() or parsed < ZERO  # never -0.00


# Quantities --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("3", "3"), ("3.000", "3"), ("2.5", "2.5"), ("0.125", "0.125"), (Decimal("1E+2"), "100"),
    (7, "7"), (Decimal("4.10"), "4.1"),
])
def test_quantities_are_plain_decimals(text: object, expected: str) -> None:
    parsed = money.quantity(text)
    assert str(parsed) == expected  # no exponent form, no trailing zeros


@given(invalid_quantities)
def test_every_invalid_quantity_raises_invalid_quantity_error(value: object) -> None:
    with pytest.raises(InvalidQuantityError):
        money.quantity(value)


def test_a_zero_count_is_a_quantity_only_when_allowed() -> None:
    assert money.quantity("0", allow_zero=True) == ZERO
    with pytest.raises(InvalidQuantityError, match="greater than zero"):
        money.quantity("0")
    with pytest.raises(InvalidQuantityError, match="negative"):
        money.quantity("-1", allow_zero=True)


@pytest.mark.parametrize("value", UNDERFLOWING)
def test_quantities_too_small_to_count_are_refused(value: str) -> None:
    with pytest.raises(InvalidQuantityError):
        money.quantity(value)
    with pytest.raises(InvalidQuantityError, match="decimal places"):
        money.quantity(Decimal(value), allow_zero=True)


@given(quantity_decimals)
def test_quantities_round_trip_through_text(qty: Decimal) -> None:
    parsed = money.quantity(str(qty))
    assert parsed == qty
    assert money.quantity(str(parsed)) == parsed
    assert "E" not in str(parsed)


def test_invalid_quantity_and_amount_errors_are_invalid_input() -> None:
    assert issubclass(InvalidQuantityError, InvalidInputError)
    assert issubclass(InvalidAmountError, ValueError)
    with pytest.raises(ValueError, match="finite"):  # a leaf also subclasses its builtin
        money.quantity(Decimal("NaN"))
    with pytest.raises(ValueError, match="plain decimal"):
        money.quantity("NaN")


# Rates, rounding --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "0.08", "0.0825", "1", "0.123456"])
def test_rates_between_zero_and_one(value: str) -> None:
    assert money.rate(value) == Decimal(value)


@pytest.mark.parametrize("value", ["-0.01", "1.01", "0.1234567", "NaN", "Infinity", 0.08, None])
def test_bad_rates_are_refused(value: object) -> None:
    with pytest.raises(InvalidAmountError):
        money.rate(value)


@pytest.mark.parametrize(("raw", "rounded"), [
    ("0.125", "0.12"), ("0.135", "0.14"), ("0.115", "0.12"), ("2.675", "2.68"),
    ("-0.125", "-0.12"), ("0.124999", "0.12"),
])
def test_computed_amounts_round_half_to_even(raw: str, rounded: str) -> None:
    assert quantize(Decimal(raw)) == Decimal(rounded)
    assert str(quantize(Decimal(raw))) == rounded


def test_quantize_to_other_minor_units() -> None:
    assert quantize(Decimal("2.5"), 0) == Decimal(2)
    assert quantize(Decimal("3.5"), 0) == Decimal(4)
    assert str(quantize(Decimal("1.23456"), 3)) == "1.235"


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("100"), "100"), (Decimal("1E+2"), "100"), (Decimal("1.500"), "1.5"),
    (Decimal("0.000"), "0"),
])
def test_plain_drops_trailing_zeros_without_exponents(value: Decimal, expected: str) -> None:
    assert str(plain(value)) == expected
