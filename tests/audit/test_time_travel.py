"""Two time axes: known_at replays what the live model showed; as_of sums by effective date.

Also: the beancount export of random books passes bean-check and balances to the cent.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from beancount import loader
from beancount.core.data import Transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2c import demo
from o2c.application import O2C, Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.export import beancount
from o2c.persistence.audit_rows import META_TABLE
from o2c.projections import Projector, reports
from o2c.projections import projector as following
from support import fresh_database_url

EXAMPLES = int(os.environ.get("O2C_HYPOTHESIS_EXAMPLES", "8"))
START = date(2026, 1, 1)
ACCOUNTS = ["1000", "2000", "3000", "4000", "5000"]  # 1100 and 1200 take no manual entries

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
entries = st.lists(st.tuples(
    st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS), amounts,
    st.integers(min_value=0, max_value=120)).filter(lambda e: e[0] != e[1]),
    min_size=1, max_size=12)


@contextmanager
def fresh_app(kind: str) -> Iterator[O2C]:
    """A new database per hypothesis example (function fixtures are shared across them)."""
    with fresh_database_url(kind) as url:
        pool = {"pool_size": 2} if kind == "postgres" else {}
        app = build_app(Settings(database_url=url, **pool))
        try:
            yield app
        finally:
            app.close()


def _recorded_at(app: O2C, position: int) -> str:
    with app.db.transaction(write=False) as cur:
        row = cur.execute(f"SELECT recorded_at FROM {app.db.table(META_TABLE)} "
                          "WHERE notification_id = ?", (position,)).fetchone()
    assert row is not None
    return str(row[0])


def _balances(report: dict[str, object]) -> dict[str, tuple[Decimal, Decimal]]:
    accounts = report["accounts"]
    assert isinstance(accounts, list)
    return {r["code"]: (r["debit"], r["credit"]) for r in accounts}


def _check(kind: str, book: list[tuple[str, str, Decimal, int]]) -> None:
    # Checkpoints every few positions, so known_at reports use them and the postings past them.
    saved, following.CHECKPOINT_EVERY = following.CHECKPOINT_EVERY, 5
    try:
        _check_books(kind, book)
    finally:
        following.CHECKPOINT_EVERY = saved


def _check_books(kind: str, book: list[tuple[str, str, Decimal, int]]) -> None:
    with fresh_app(kind) as app:
        projector = Projector(app.db, app.settings)
        seen: list[tuple[str, dict[str, tuple[Decimal, Decimal]]]] = []
        effective: list[tuple[date, str, Decimal, Decimal]] = []
        for number, (debit, credit, amount, day) in enumerate(book):
            when = START + timedelta(days=day)
            result = app.post_journal_entry(
                Context(actor="t"), f"entry {number}",
                [{"account": debit, "debit": str(amount)},
                 {"account": credit, "credit": str(amount)}], date=when.isoformat())
            effective += [(when, debit, amount, Decimal(0)), (when, credit, Decimal(0), amount)]
            projector.catch_up()
            seen.append((_recorded_at(app, result.position),
                         _balances(reports.trial_balance(app.db, app.places))))
        # known_at: exactly what the live read model showed at each recording time.
        for moment, live in seen:
            known = datetime.fromisoformat(moment.replace("Z", "+00:00"))
            assert _balances(reports.trial_balance(app.db, app.places, known_at=known)) == live
        # as_of: the sum of postings effective on or before each date.
        for day in sorted({d for d, *_ in effective}):
            sums: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
            for when, account, dr, cr in effective:
                if when <= day:
                    sums[account][0] += dr
                    sums[account][1] += cr
            report = _balances(reports.trial_balance(app.db, app.places, as_of=day))
            for code, (dr, cr) in report.items():
                assert (dr, cr) == tuple(sums.get(code, (Decimal(0), Decimal(0))))
        _check_beancount(app)


def _check_beancount(app: O2C) -> None:
    Projector(app.db, app.settings, ["trial_balance"]).catch_up()
    text = "\n".join(beancount(app.db, app.settings.currency))
    entries_, errors, _ = loader.load_string(text)
    assert errors == [], errors
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries_:
        if isinstance(entry, Transaction):
            for posting in entry.postings:
                totals[posting.account.split(":")[1].split("-")[0]] += posting.units.number
    for row in reports.trial_balance(app.db, app.places)["accounts"]:
        assert totals.get(row["code"], Decimal(0)) == row["balance"], row["code"]


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=entries)
def test_time_travel_sqlite(book: list[tuple[str, str, Decimal, int]]) -> None:
    _check("sqlite", book)


@pytest.mark.postgres
@settings(max_examples=max(2, EXAMPLES // 2), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(book=entries)
def test_time_travel_postgres(pg_schema_url: str,
                              book: list[tuple[str, str, Decimal, int]]) -> None:
    del pg_schema_url  # requested so the PostgreSQL half skips or fails like the others
    _check("postgres", book)


def test_demo_exports_to_beancount(app: O2C) -> None:
    demo.run(app, say=lambda _: None)
    _check_beancount(app)
