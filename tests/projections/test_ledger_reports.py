"""The ledger reports (account ledger, P&L, balance sheet, trial balance for a range),
each recomputed in plain Python from the postings the story made."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from o2c.application import O2C
from o2c.domain.errors import InvalidInputError, NotFoundError
from o2c.projections import Projector, ledger_reports, reports
from o2c.projections import projector as following
from o2c.projections.rebuild import rebuild
from support.ledger_story import ACCOUNT_TYPES, RENT, RETAINED, Story, record

D = Decimal
Y2025 = {"start": date(2025, 1, 1), "end": date(2025, 12, 31)}


@pytest.fixture
def story(app: O2C) -> Story:
    made = record(app)
    Projector(app.db, app.settings).catch_up()
    return made


def test_ledger_lines_running_balance_and_closing(app: O2C, story: Story) -> None:
    start, end = date(2025, 6, 1), date(2025, 12, 31)
    report = ledger_reports.ledger(app.db, app.places, "1000", start=start, end=end)
    expected = story.select(account="1000", start=start, end=end)
    assert report["account"]["code"] == "1000"
    assert report["opening_balance"] == story.balance("1000", end=date(2025, 5, 31))
    assert [(ln["date"], ln["debit"], ln["credit"]) for ln in report["lines"]] == sorted(
        (ln.day.isoformat(), ln.debit, ln.credit) for ln in expected)
    running = report["opening_balance"]
    for line in report["lines"]:
        running += line["debit"] - line["credit"]
        assert line["balance"] == running
        assert line["trail"] == f"/audit/trail/{line['entry_id']}"
    assert report["closing_balance"] == running == story.balance("1000", end=end)
    assert report["totals"]["debit"] == sum((ln.debit for ln in expected), D(0))
    assert str(report["opening_balance"]) == "1000.00"
    assert report["next_cursor"] is None


def test_ledger_of_all_time_ends_at_the_trial_balance(app: O2C, story: Story) -> None:
    balance = {a["code"]: a["balance"]
               for a in reports.trial_balance(app.db, app.places)["accounts"]}
    for code in ACCOUNT_TYPES:
        report = ledger_reports.ledger(app.db, app.places, code, end=date(2026, 12, 31))
        assert report["closing_balance"] == balance[code] == story.balance(code), code
        assert str(report["opening_balance"]) == "0.00"
        # the lines are in effective-date order, then log order
        keys = [(ln["date"], ln["position"], ln["line_no"]) for ln in report["lines"]]
        assert keys == sorted(keys)


def test_ledger_pages_join_up(app: O2C, story: Story) -> None:
    whole = ledger_reports.ledger(app.db, app.places, "1000", limit=None)
    seen, cursor = [], None
    while True:
        page = ledger_reports.ledger(app.db, app.places, "1000", limit=2, cursor=cursor)
        assert len(page["lines"]) <= 2
        if seen:  # each page's running balance carries on from the last
            assert page["page_opening_balance"] == seen[-1]["balance"]
        seen += page["lines"]
        assert page["closing_balance"] == whole["closing_balance"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == whole["lines"]
    assert len(seen) == len(story.select(account="1000")) > 4


def test_ledger_known_at_hides_what_was_recorded_later(app: O2C, story: Story) -> None:
    report = ledger_reports.ledger(app.db, app.places, RENT, known_at=story.marker)
    assert [ln["debit"] for ln in report["lines"]] == [D("120.00")]
    assert report["closing_balance"] == story.balance(RENT, known=True) == D("120.00")
    now = ledger_reports.ledger(app.db, app.places, RENT)
    assert now["closing_balance"] == story.balance(RENT)
    # the year-end lines are there, and flagged
    assert sum(1 for ln in now["lines"] if ln["year_end"]) == 3


def test_ledger_refuses_what_it_cannot_answer(app: O2C, story: Story) -> None:
    with pytest.raises(NotFoundError):
        ledger_reports.ledger(app.db, app.places, "9999")
    with pytest.raises(InvalidInputError, match="after"):
        ledger_reports.ledger(app.db, app.places, "1000", start=date(2026, 2, 1),
                              end=date(2026, 1, 1))
    with pytest.raises(InvalidInputError, match="cursor"):
        ledger_reports.ledger(app.db, app.places, "1000", cursor="bm90IGEgY3Vyc29y")
    with pytest.raises(InvalidInputError, match="limit"):
        ledger_reports.ledger(app.db, app.places, "1000", limit=0)


def test_profit_and_loss_leaves_out_the_year_end_close(app: O2C, story: Story) -> None:
    report = ledger_reports.profit_and_loss(app.db, app.places, **Y2025)
    revenue = {a["code"]: a["amount"] for a in report["revenue"]["accounts"]}
    expenses = {a["code"]: a["amount"] for a in report["expenses"]["accounts"]}
    assert revenue["4000"] == D("580.00") == story.natural("4000", without_year_end=True,
                                                           **Y2025)
    assert expenses[RENT] == D("130.00")
    assert report["net_profit"] == story.profit(**Y2025) == D("450.00")
    # counting the close would have shown no profit at all
    assert sum((-story.balance(c, **Y2025) for c, k in ACCOUNT_TYPES.items()
                if k in ("revenue", "expense")), D(0)) == 0
    assert report["revenue"]["total"] - report["expenses"]["total"] == report["net_profit"]
    assert str(expenses["5100"]) == "0.00"
    known = ledger_reports.profit_and_loss(app.db, app.places, known_at=story.marker, **Y2025)
    assert known["net_profit"] == story.profit(known=True, **Y2025) == D("460.00")


def test_profit_and_loss_by_month(app: O2C, story: Story) -> None:
    start, end = date(2025, 11, 15), date(2026, 2, 10)
    report = ledger_reports.profit_and_loss(app.db, app.places, start=start, end=end,
                                            monthly=True)
    assert [m["month"] for m in report["months"]] == ["2025-11", "2025-12", "2026-01",
                                                      "2026-02"]
    assert report["months"][0]["from"] == "2025-11-15"
    assert report["months"][-1]["to"] == "2026-02-10"
    for column, month in enumerate(report["months"]):
        lo, hi = date.fromisoformat(month["from"]), date.fromisoformat(month["to"])
        assert report["net_profit_by_month"][column] == story.profit(start=lo, end=hi)
    assert sum(report["net_profit_by_month"], D(0)) == report["net_profit"] == story.profit(
        start=start, end=end)
    assert report["net_profit_by_month"] == [D("80.00"), D("0.00"), D("-45.50"), D("250.00")]


def test_balance_sheet_balances_with_the_unclosed_profit(app: O2C, story: Story) -> None:
    for as_of in (date(2025, 6, 30), date(2025, 12, 31), date(2026, 3, 1)):
        report = ledger_reports.balance_sheet(app.db, app.places, as_of=as_of)
        assert report["balanced"] is True
        assert str(report["difference"]) == "0.00"
        assets = {a["code"]: a["amount"] for a in report["assets"]["accounts"]}
        for code, amount in assets.items():
            assert amount == story.natural(code, end=as_of)
        assert report["equity"]["unclosed_profit"] == sum(
            (-story.balance(c, end=as_of) for c, k in ACCOUNT_TYPES.items()
             if k in ("revenue", "expense")), D(0))
        assert report["assets"]["total"] == report["liabilities_and_equity"]
    # the 2025 profit is in retained earnings once closed, and no longer unclosed
    closed = ledger_reports.balance_sheet(app.db, app.places, as_of=date(2025, 12, 31))
    equity = {a["code"]: a["amount"] for a in closed["equity"]["accounts"]}
    assert equity[RETAINED] == D("450.00")
    assert closed["equity"]["unclosed_profit"] == D("0.00")
    mid = ledger_reports.balance_sheet(app.db, app.places, as_of=date(2025, 6, 30))
    assert mid["equity"]["unclosed_profit"] == story.profit(end=date(2025, 6, 30)) == D("370.00")
    known = ledger_reports.balance_sheet(app.db, app.places, as_of=date(2025, 12, 31),
                                         known_at=story.marker)
    assert known["balanced"] is True
    assert known["equity"]["unclosed_profit"] == D("460.00")


@pytest.mark.parametrize("checkpoint_every", [20_000, 3])
def test_trial_balance_for_a_range(app: O2C, checkpoint_every: int,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(following, "CHECKPOINT_EVERY", checkpoint_every)
    story = record(app)
    projector = Projector(app.db, app.settings)
    rebuild(projector)  # the checkpoints as the spacing makes them
    start, end = date(2025, 7, 1), date(2026, 1, 31)
    for known in (False, True):
        report = ledger_reports.trial_balance_range(
            app.db, app.places, start=start, end=end,
            known_at=story.marker if known else None)
        for row in report["accounts"]:
            code = row["code"]
            assert row["opening"] == story.balance(code, end=date(2025, 6, 30), known=known)
            moved = story.select(account=code, start=start, end=end, known=known)
            assert row["debit"] == sum((ln.debit for ln in moved), D(0))
            assert row["credit"] == sum((ln.credit for ln in moved), D(0))
            assert row["closing"] == row["opening"] + row["debit"] - row["credit"]
            assert row["closing"] == story.balance(code, end=end, known=known)
        totals = report["totals"]
        assert totals["opening"] == totals["closing"] == D("0.00")
        assert totals["debit"] == totals["credit"]
    # the single-date trial balance is unchanged, and agrees with the range's closing
    single = reports.trial_balance(app.db, app.places, as_of=end)
    ranged = ledger_reports.trial_balance_range(app.db, app.places, start=start, end=end)
    assert [a["balance"] for a in single["accounts"]] == [
        a["closing"] for a in ranged["accounts"]]


def test_trial_balance_by_month(app: O2C, story: Story) -> None:
    report = ledger_reports.trial_balance_range(app.db, app.places, start=date(2025, 6, 1),
                                                end=date(2025, 8, 31), monthly=True)
    cash = next(a for a in report["accounts"] if a["code"] == "1000")
    assert [m["month"] for m in cash["by_month"]] == ["2025-06", "2025-07", "2025-08"]
    assert [m["credit"] for m in cash["by_month"]] == [D("130.00"), D("0.00"), D("0.00")]
    assert sum((m["debit"] for m in cash["by_month"]), D(0)) == cash["debit"]


def test_without_dates_and_too_many_months(app: O2C, story: Story) -> None:
    report = ledger_reports.profit_and_loss(app.db, app.places)
    assert report["from"] is None
    assert report["to"] == ledger_reports.today().isoformat()
    assert report["net_profit"] == story.profit()
    with pytest.raises(InvalidInputError, match="months"):
        ledger_reports.profit_and_loss(app.db, app.places, start=date(2000, 1, 1),
                                       end=date(2020, 1, 1), monthly=True)


def test_empty_books_answer_zeroes_with_places(app: O2C) -> None:
    Projector(app.db, app.settings).catch_up()
    pnl = ledger_reports.profit_and_loss(app.db, app.places, monthly=True)
    assert str(pnl["net_profit"]) == "0.00"
    sheet = ledger_reports.balance_sheet(app.db, app.places)
    assert sheet["balanced"] is True
    assert str(sheet["assets"]["total"]) == "0.00"
    ledger = ledger_reports.ledger(app.db, app.places, "1000")
    assert ledger["lines"] == []
    assert str(ledger["closing_balance"]) == "0.00"


def _beancount_root(entries: list[Any], root: str) -> Decimal:
    """A root account's balance (subaccounts included) by beancount's own realization."""
    from beancount.core import realization

    real = realization.realize(entries)
    found = realization.get(real, root)
    if found is None:
        return D("0.00")
    number = realization.compute_balance(found).get_currency_units("USD").number
    return D(number) if number is not None else D("0.00")


def test_beancount_export_reproduces_pnl_and_balance_sheet(app: O2C, story: Story) -> None:
    from beancount import loader
    from beancount.core.data import Open, Transaction

    from o2c.export import YEAR_END_TAG, beancount

    text = "\n".join(beancount(app.db, app.settings.currency))
    entries, errors, options = loader.load_string(text)
    assert errors == [], errors
    assert options["operating_currency"] == ["USD"]
    opened = {e.meta["code"]: e.meta["type"] for e in entries if isinstance(e, Open)}
    assert opened[RETAINED] == "equity"
    assert opened[RENT] == "expense"
    transactions = [e for e in entries if isinstance(e, Transaction)]
    tagged = [e for e in transactions if YEAR_END_TAG in e.tags]
    assert len(tagged) == 3
    assert all(e.meta["year_end"] is True for e in tagged)

    def period(start: date | None, end: date, *, year_end: bool) -> list[Any]:
        return [e for e in transactions if (start is None or e.date >= start)
                and e.date <= end and (year_end or YEAR_END_TAG not in e.tags)]

    for start, end in ((date(2025, 1, 1), date(2025, 12, 31)),
                       (date(2025, 6, 1), date(2026, 1, 31)),
                       (date(2026, 1, 1), date(2026, 12, 31))):
        chosen = period(start, end, year_end=False)
        profit = -(_beancount_root(chosen, "Income") + _beancount_root(chosen, "Expenses"))
        report = ledger_reports.profit_and_loss(app.db, app.places, start=start, end=end)
        assert report["net_profit"] == profit, (start, end)
        assert report["revenue"]["total"] == -_beancount_root(chosen, "Income")
    for as_of in (date(2025, 6, 30), date(2025, 12, 31), date(2026, 2, 28)):
        chosen = period(None, as_of, year_end=True)
        sheet = ledger_reports.balance_sheet(app.db, app.places, as_of=as_of)
        assert sheet["assets"]["total"] == _beancount_root(chosen, "Assets")
        assert sheet["liabilities"]["total"] == -_beancount_root(chosen, "Liabilities")
        assert sheet["equity"]["total"] == -_beancount_root(chosen, "Equity")
        assert sheet["equity"]["unclosed_profit"] == -(
            _beancount_root(chosen, "Income") + _beancount_root(chosen, "Expenses"))
    # each entry's recording time is there, so a known-at view can be cut from the file too
    marker = story.marker.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if story.marker else ""
    known = [e for e in period(date(2025, 1, 1), date(2025, 12, 31), year_end=False)
             if e.meta["recorded"] <= marker]
    assert -(_beancount_root(known, "Income") + _beancount_root(known, "Expenses")) == \
        ledger_reports.profit_and_loss(app.db, app.places, start=date(2025, 1, 1),
                                       end=date(2025, 12, 31),
                                       known_at=story.marker)["net_profit"]
