"""The book currency belongs to the books: recorded in the log on the first start, and a
start with another ``O2C_CURRENCY`` is refused, with a clear message, changing nothing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from o2c.bootstrap import build_app, open_existing
from o2c.cli import cli
from o2c.config import Settings
from o2c.domain.book import Book
from o2c.domain.errors import CurrencyMismatchError


def test_the_first_start_records_the_currency_in_the_log(database_url: str) -> None:
    app = build_app(Settings(database_url=database_url, currency="JPY"))
    try:
        book = app.repository.get(Book.create_id())
        assert (book.currency, book.minor_units) == ("JPY", 0)
        head = app.db.head()
    finally:
        app.close()
    again = build_app(Settings(database_url=database_url, currency="jpy"))  # same, any case
    try:
        assert again.db.head() == head  # nothing recorded twice
    finally:
        again.close()


def test_another_currency_is_refused_and_records_nothing(database_url: str) -> None:
    app = build_app(Settings(database_url=database_url, currency="EUR"))
    head = app.db.head()
    app.close()
    for opener in (build_app, lambda s: open_existing(s, write=False)[0]):
        with pytest.raises(CurrencyMismatchError, match=r"kept in EUR.*O2C_CURRENCY is USD"):
            opener(Settings(database_url=database_url, currency="USD"))
    app = build_app(Settings(database_url=database_url, currency="EUR"))
    try:
        assert app.db.head() == head
    finally:
        app.close()


def test_the_cli_says_so_in_one_line_and_exits_2(database_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    build_app(Settings(database_url=database_url, currency="GBP")).close()
    monkeypatch.setenv("O2C_DATABASE_URL", database_url)
    monkeypatch.setenv("O2C_CURRENCY", "CHF")
    for args in (["report", "trial-balance"], ["journal", "post", "--memo", "x", "--line",
                                               "1000:debit:1", "--line", "3000:credit:1"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        assert "currency_mismatch" in lines[0]
        assert "GBP" in lines[0]


def test_an_unknown_currency_is_refused_by_the_settings() -> None:
    for code in ("XAU", "ABC", "XTS"):
        with pytest.raises(ValidationError, match="ISO 4217"):
            Settings(currency=code)
