"""The periods page in a real browser: year-end close, reopen, a refused future close,
and no forms for a role that may not use them (Debian's Chromium, like test_browser)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from test_browser import Watched, base_url, browser  # noqa: F401 - fixtures reused

from o2c.application import O2C, Context
from o2c.auth import create_token
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.projections import Projector, reports

TODAY = datetime.now(UTC).date()
LAST = TODAY.year - 1


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[O2C]:
    """A store with a year of sales and costs before this one (``base_url`` serves it)."""
    path: Path = tmp_path_factory.mktemp("periods") / "o2c.sqlite"
    app = build_app(Settings(database_url=f"sqlite:///{path}", currency="USD",
                             server_projector=False))
    ctx = Context(actor="seed")
    for day, debit, credit, amount in ((f"{LAST}-02-01", "1000", "4000", "1200.00"),
                                       (f"{LAST}-07-01", "5100", "1000", "200.00")):
        app.post_journal_entry(ctx, "seed", [{"account": debit, "debit": amount},
                                             {"account": credit, "credit": amount}], day)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="module")
def tokens(store: O2C) -> dict[str, str]:
    return {role: create_token(store.db, role, f"periods-{role}")
            for role in ("finance", "auditor")}


def _balances(app: O2C) -> dict[str, Decimal]:
    Projector(app.db, app.settings).catch_up()
    report = reports.trial_balance(app.db, app.places, as_of=datetime(LAST, 12, 31).date())
    assert report["totals"]["balance"] == 0
    return {row["code"]: row["balance"] for row in report["accounts"]}


def test_year_end_and_reopen_in_the_browser(browser: Browser,  # noqa: F811
                                            base_url: str,  # noqa: F811
                                            tokens: dict[str, str], store: O2C) -> None:
    user = Watched(browser, base_url, tokens["finance"])
    page = user.visit("/books/periods", "periods-before")
    expect(page.locator("#closed-through")).to_have_text("never closed")

    page.get_by_label("Year", exact=True).fill(str(LAST))
    page.get_by_role("button", name="Close year").click()
    expect(page.get_by_role("status")).to_contain_text(f"Year {LAST} closed by entry")
    expect(page.locator("#closed-through")).to_have_text(f"{LAST}-12-31")
    expect(page.locator(f'#closed-years tr[data-year="{LAST}"]')).to_be_visible()
    closed = _balances(store)
    assert (closed["4000"], closed["5100"], closed["3100"]) == (0, 0, Decimal("-1000.00"))
    user.visit("/books/periods", "periods-year-closed")

    # A close after the business date is refused, saying why; nothing changes.
    head = store.db.head()
    page.get_by_label("Close through").fill((TODAY + timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Close period").click()
    expect(page.get_by_role("alert")).to_contain_text("after the business date")
    assert store.db.head() == head

    page = user.visit("/books/periods", "periods-closed")
    page.get_by_label("Keep closed through").fill(f"{LAST}-11-30")
    page.get_by_label("Reason").fill("late supplier invoice")
    page.get_by_role("button", name="Reopen periods").click()
    expect(page.get_by_role("status")).to_contain_text(f"Year {LAST} reopened")
    expect(page.locator("#closed-through")).to_have_text(f"{LAST}-11-30")
    expect(page.locator("#closed-years")).to_contain_text("No year closed.")
    reopened = _balances(store)
    assert (reopened["4000"], reopened["5100"], reopened["3100"]) == (
        Decimal("-1200.00"), Decimal("200.00"), 0)
    user.visit("/books/periods", "periods-reopened")
    user.close()

    auditor = Watched(browser, base_url, tokens["auditor"])
    page = auditor.visit("/books/periods", "periods-auditor")
    expect(page.locator("#closed-through")).to_have_text(f"{LAST}-11-30")
    expect(page.get_by_role("button", name="Reopen periods")).to_have_count(0)
    expect(page.get_by_role("button", name="Close year")).to_have_count(0)
    auditor.close()
