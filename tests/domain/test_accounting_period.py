"""AccountingPeriods: the books close through a date that only moves forward."""

from __future__ import annotations

from datetime import date

import pytest
from refusal import refused

from o2c.domain.accounting_period import AccountingPeriods
from o2c.domain.errors import InvalidInputError, InvalidStateError, PeriodClosedError


def test_nothing_is_closed_at_first() -> None:
    periods = AccountingPeriods()
    assert periods.id == AccountingPeriods.create_id()
    assert periods.closed_through is None
    periods.check_open(date(1999, 1, 1))  # anything goes


def test_closing_refuses_postings_on_or_before_the_date() -> None:
    periods = AccountingPeriods()
    periods.close("2026-10-31", "October close")
    event = periods.pending_events[-1]
    assert isinstance(event, AccountingPeriods.Closed)
    assert (event.through, event.note) == (date(2026, 10, 31), "October close")
    with pytest.raises(PeriodClosedError):
        periods.check_open(date(2026, 10, 31))
    with pytest.raises(PeriodClosedError):
        periods.check_open(date(2025, 1, 1))
    periods.check_open(date(2026, 11, 1))


def test_closing_only_moves_forward() -> None:
    periods = AccountingPeriods()
    periods.close(date(2026, 10, 31))
    refused(periods, InvalidStateError, lambda: periods.close("2026-10-31"))
    refused(periods, InvalidStateError, lambda: periods.close("2026-09-30"))
    periods.close("2026-11-30")
    assert periods.closed_through == date(2026, 11, 30)


@pytest.mark.parametrize("through", ["2026-13-01", "yesterday", None, 20261031])
def test_close_needs_a_date(through: object) -> None:
    periods = AccountingPeriods()
    refused(periods, InvalidInputError, lambda: periods.close(through))
