"""Shared value checks: texts, e-mails, dates, whole days."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2c.domain import values
from o2c.domain.errors import InvalidInputError


def test_text_is_trimmed_and_bounded() -> None:
    assert values.text("  hello\tworld ", "x") == "hello\tworld"
    assert values.text("a" * values.MAX_TEXT, "x") == "a" * values.MAX_TEXT
    assert values.text(None, "x", optional=True) == ""
    assert values.text("  ", "x", optional=True) == ""
    for bad in ("", "   ", "a" * (values.MAX_TEXT + 1), "bell\x07", "nul\x00", 5, None, b"x"):
        with pytest.raises(InvalidInputError):
            values.text(bad, "x")


@given(st.text())
def test_any_text_is_either_clean_or_refused(raw: str) -> None:
    try:
        cleaned = values.text(raw, "x")
    except InvalidInputError:
        return
    assert cleaned == raw.strip()
    assert 0 < len(cleaned) <= values.MAX_TEXT
    assert all(ord(ch) >= 32 or ch == "\t" for ch in cleaned)


def test_email_is_lower_cased_and_plausible() -> None:
    assert values.email(" Ada@Example.COM ") == "ada@example.com"
    for bad in ("ada", "ada@", "@example.com", "ada@example", "a da@example.com",
                "a@b@example.com", "x" * 65 + "@example.com"):
        with pytest.raises(InvalidInputError):
            values.email(bad)


def test_dates_from_iso_text_or_date() -> None:
    assert values.a_date("2026-02-28", "d") == date(2026, 2, 28)
    assert values.a_date(date(2026, 2, 28), "d") == date(2026, 2, 28)
    for bad in ("2026-02-29", "28/02/2026", "", None, 20260228, "2026-02-28T10:00:00"):
        with pytest.raises(InvalidInputError):
            values.a_date(bad, "d")


def test_a_datetime_is_not_taken_for_a_date() -> None:
    day = values.a_date(datetime(2026, 2, 28, 23, 30), "d")
    assert type(day) is date


def test_whole_days() -> None:
    assert values.whole_days(0, "d") == 0
    assert values.whole_days(3650, "d") == 3650
    for bad in (-1, 3651, 1.0, "30", True, None):
        with pytest.raises(InvalidInputError):
            values.whole_days(bad, "d")
