"""Hypothesis strategies shared by the domain, application and state-machine tests.

Valid values come as the strings a client would send (``"12.50"``, not
``Decimal``), because parsing them is part of what is tested; the ``*_decimals``
variants give the parsed values for arithmetic on the domain side. Invalid
values are grouped by the error they must raise.

Imported as ``from strategies import ...``: pytest's default (prepend) import
mode puts ``tests/`` on ``sys.path`` for ``tests/conftest.py``.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from o2c.domain.money import MAX_VALUE

# Identifiers ---------------------------------------------------------------------------

_SKU_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."

#: SKUs as a client may type them (any case); the domain stores them upper-cased.
skus = st.text(alphabet=_SKU_CHARS, min_size=1, max_size=64).filter(lambda s: s.strip())

#: Distinct SKUs once upper-cased (``"a-1"`` and ``"A-1"`` are one SKU).
def distinct_skus(min_size: int = 1, max_size: int = 5) -> st.SearchStrategy[list[str]]:
    """A list of SKUs that stay distinct after upper-casing."""
    return st.lists(skus, min_size=min_size, max_size=max_size,
                    unique_by=lambda s: s.upper())


invalid_skus = st.sampled_from(["", "   ", "has space", "semi;colon", "slash/", "x" * 65,
                                "quote'", "new\nline"])

# Quantities -------------------------------------------------------------------------------

#: Positive quantities with at most 3 places, up to a size real warehouses see.
quantity_decimals = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("100000"),
                                places=3, allow_nan=False, allow_infinity=False)
#: Whole positive quantities (most stock is counted in units).
whole_quantities = st.integers(min_value=1, max_value=10_000)
#: Quantities as request text.
quantities = st.one_of(quantity_decimals.map(str), whole_quantities.map(str))

#: Quantities that must raise InvalidQuantityError.
invalid_quantities: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["0", "-1", "-0.001", "0.0001", "1.2345", "NaN", "nan", "-NaN", "sNaN",
                     "Infinity", "-Infinity", "inf", "1e400", "-1e400", "1e13",
                     "abc", "", " ", "1,5", "0x10", True, False, None, [], {}]),
    st.floats(allow_nan=True, allow_infinity=True),  # floats are refused, even 1.0
    st.integers(max_value=0),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000"), places=4)
    .filter(lambda d: d != d.quantize(Decimal("0.001"))).map(str),
)

# Money ------------------------------------------------------------------------------------

#: Positive amounts in cents, as Decimals.
amount_decimals = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"),
                              places=2, allow_nan=False, allow_infinity=False)
#: Positive amounts as request text.
amounts = amount_decimals.map(str)
#: Unit prices and costs: zero allowed (free samples, donated stock).
price_decimals = st.decimals(min_value=Decimal("0"), max_value=Decimal("10000"), places=2,
                             allow_nan=False, allow_infinity=False)
prices = price_decimals.map(str)

#: Amounts that must raise InvalidAmountError (zero and negatives included).
invalid_amounts: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["0", "0.00", "-0.01", "-5", "0.001", "12.345", "NaN", "sNaN",
                     "Infinity", "-Infinity", "1e400", "-1e400", str(MAX_VALUE + 1),
                     "1e-400", "ten", "", "1.2.3", True, None, [], 1.5, 0.1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(max_value=0),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3)
    .filter(lambda d: d != d.quantize(Decimal("0.01"))).map(str),
)

#: Any finite decimal text within the accepted range, for round-trip properties.
decimal_texts = st.decimals(min_value=-MAX_VALUE, max_value=MAX_VALUE, places=2,
                            allow_nan=False, allow_infinity=False).map(str)

# Orders -----------------------------------------------------------------------------------


@st.composite
def order_lines(draw: st.DrawFn, skus_from: st.SearchStrategy[list[str]] | None = None,
                max_lines: int = 4) -> list[dict[str, str]]:
    """Valid order lines: distinct SKUs, positive quantities, prices in cents."""
    chosen = draw(skus_from if skus_from is not None
                  else distinct_skus(min_size=1, max_size=max_lines))
    return [{"sku": sku, "quantity": draw(quantities), "unit_price": draw(prices)}
            for sku in chosen]


#: Single order lines that must be refused, with no more than one fault each.
invalid_order_line = st.one_of(
    st.builds(lambda q: {"sku": "A-1", "quantity": q, "unit_price": "1.00"}, invalid_quantities),
    st.builds(lambda p: {"sku": "A-1", "quantity": "1", "unit_price": p},
              invalid_amounts.filter(lambda v: v not in ("0", "0.00") and v != 0)),
    st.builds(lambda s: {"sku": s, "quantity": "1", "unit_price": "1.00"}, invalid_skus),
)

#: Tax rates between 0 and 1 with at most 6 places.
tax_rates = st.decimals(min_value=Decimal(0), max_value=Decimal(1), places=6).map(str)

# Ledger -----------------------------------------------------------------------------------

#: Account codes of the default chart.
chart_codes = st.sampled_from(["1000", "1100", "1200", "2000", "2100", "3000", "4000",
                               "5000", "5100"])


@st.composite
def balanced_lines(draw: st.DrawFn, codes: st.SearchStrategy[str] = chart_codes,
                   max_lines: int = 6) -> list[dict[str, str]]:
    """Journal lines whose debits equal their credits exactly (2 to ``max_lines`` lines)."""
    debits = draw(st.lists(amount_decimals, min_size=1, max_size=max_lines - 1))
    total = sum(debits, Decimal(0))
    # Split the same total into credits: cut points in cents.
    cents = int(total * 100)
    n_credits = draw(st.integers(min_value=1, max_value=min(max_lines - len(debits), cents)))
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=cents - 1),
                                min_size=n_credits - 1, max_size=n_credits - 1, unique=True))
                  ) if n_credits > 1 else []
    bounds = [0, *cuts, cents]
    credits = [Decimal(b - a) / 100 for a, b in itertools.pairwise(bounds)]
    lines = [{"account": draw(codes), "debit": str(d)} for d in debits]
    lines += [{"account": draw(codes), "credit": str(c.quantize(Decimal("0.01")))}
              for c in credits]
    return draw(st.permutations(lines))


# Mostly valid --------------------------------------------------------------------------------


def mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any],
           *, one_in: int = 8) -> st.SearchStrategy[Any]:
    """``valid`` values, but one time in ``one_in`` an ``invalid`` one.

    Long valid sequences are needed to reach deep states (shipped, invoiced,
    paid); the invalid values make sure refusals are exercised all along.
    """
    return st.integers(min_value=1, max_value=one_in).flatmap(
        lambda roll: invalid if roll == 1 else valid)


#: Unit prices that must be refused (zero is a valid price, so it is left out).
invalid_prices: st.SearchStrategy[Any] = invalid_amounts.filter(
    lambda v: isinstance(v, bool) or not (isinstance(v, (str, int)) and v in ("0", "0.00", 0)))
