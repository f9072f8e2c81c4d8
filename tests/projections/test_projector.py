"""The projector: live read models equal rebuilt ones, nothing counted twice or skipped."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from o2c.application import O2C, Context
from o2c.bootstrap import build_app, open_database
from o2c.config import Settings
from o2c.domain.errors import ProjectionStuckError
from o2c.persistence import log
from o2c.projections import Projector, reports
from o2c.projections import projector as following
from o2c.projections import rebuild as rebuilding
from o2c.projections.pipeline import Pipeline
from o2c.projections.rebuild import rebuild, reset

CTX = Context(actor="test")


def _flow(app: O2C, n: int = 3) -> list[str]:
    """A small order-to-cash story, repeated ``n`` times on shared SKUs."""
    app.register_stock_item(CTX, "P-1", "Part one")
    app.register_stock_item(CTX, "P-2", "Part two")
    app.receive_stock(CTX, "P-1", "100", "2.50")
    app.receive_stock(CTX, "P-2", "40", "7.25")
    app.receive_stock(CTX, "P-1", "30", "2.75")
    orders = []
    for i in range(n):
        lead = app.capture_lead(CTX, f"Buyer {i}", f"Co {i}", f"b{i}@co.example", "web")
        conv = app.convert_lead(CTX, lead.id, {"title": f"Deal {i}", "amount": "500.00",
                                               "expected_close_date": "2027-01-31"})
        app.change_stage(CTX, conv.extra["opportunity_id"], "proposal")
        won = app.win_opportunity(CTX, conv.extra["opportunity_id"], [
            {"sku": "P-1", "quantity": "10", "unit_price": "9.99"},
            {"sku": "P-2", "quantity": "3", "unit_price": "19.50"}])
        order = won.extra["order_id"]
        app.confirm_order(CTX, order)
        app.ship_order(CTX, order, [{"sku": "P-1", "quantity": "7"}])
        app.invoice_order(CTX, order)
        app.pay_order(CTX, order, "10.00")
        orders.append(order)
    lost = app.capture_lead(CTX, "Nope", "Nope Inc", "no@nope.example", "web")
    app.disqualify_lead(CTX, lost.id, "not a fit")
    app.adjust_stock(CTX, "P-2", "30", "cycle count")
    return orders


@pytest.mark.parametrize("checkpoint_every", [20_000, 7])
def test_live_equals_rebuilt(app: O2C, checkpoint_every: int,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(following, "CHECKPOINT_EVERY", checkpoint_every)
    projector = Projector(app.db, app.settings)
    _flow(app)
    projector.catch_up()
    live = {name: projector.digest(name) for name in projector.names()}
    rebuild(projector)
    assert {name: projector.digest(name) for name in projector.names()} == live
    # Caught up in many small batches, the result is the same too.
    reset(projector)
    head, position = app.db.head(), 0
    while position < head:
        _, position = projector.step(limit=7)
    assert {name: projector.digest(name) for name in projector.names()} == live


def test_figures_match_the_aggregates(app: O2C) -> None:
    orders = _flow(app, n=2)
    Projector(app.db, app.settings).catch_up()
    inventory = {row["sku"]: row for row in reports.inventory(app.db, app.places)["items"]}
    for sku in ("P-1", "P-2"):
        item = app.stock_item(sku)
        assert inventory[sku]["on_hand"] == item.on_hand
        assert inventory[sku]["reserved"] == item.reserved
        assert inventory[sku]["value"] == item.value
    balance = {r["code"]: r["balance"]
               for r in reports.trial_balance(app.db, app.places)["accounts"]}
    assert balance["1200"] == sum((app.stock_item(s).value for s in ("P-1", "P-2")), Decimal(0))
    assert balance["1100"] == sum((app.sales_order(o).open_balance for o in orders), Decimal(0))
    assert reports.trial_balance(app.db, app.places)["totals"]["balance"] == 0
    status = reports.order_status(app.db, app.places, orders[0])
    assert status is not None
    assert status["status"] == app.sales_order(orders[0]).status == "partially_shipped"


def test_two_projectors_never_count_twice(settings: Settings) -> None:
    """A worker and a server projecting the same database at once."""
    first, second = build_app(settings), build_app(settings)
    try:
        a, b = Projector(first.db, first.settings), Projector(second.db, second.settings)
        errors: list[BaseException] = []
        stop = threading.Event()

        def follow(projector: Projector) -> None:
            try:
                while not stop.is_set():
                    projector.step(limit=5)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=follow, args=(p,)) for p in (a, b)]
        for thread in threads:
            thread.start()
        _flow(first, n=4)
        stop.set()
        for thread in threads:
            thread.join()
        assert errors == []
        a.catch_up()
        live = {name: a.digest(name) for name in a.names()}
        rebuild(b)
        assert {name: b.digest(name) for name in b.names()} == live
    finally:
        first.close()
        second.close()


def test_a_failing_batch_records_nothing(app: O2C, monkeypatch: pytest.MonkeyPatch) -> None:
    _flow(app, n=1)
    projector = Projector(app.db, app.settings)

    def boom(*_: object) -> None:
        raise RuntimeError("crash in the middle of a batch")

    monkeypatch.setattr(Pipeline, "_opened", boom)
    broken = Projector(app.db, app.settings)  # handlers are bound at construction
    with pytest.raises(ProjectionStuckError, match=r"pipeline is stuck .* RuntimeError: crash"):
        broken.catch_up()
    # The failing batches were rolled back whole; the pipeline stays before the event it
    # cannot apply (nothing of it half-applied, nothing skipped), the others went on.
    [stuck] = projector.health().stuck
    positions = {row["name"]: row["position"] for row in projector.status()}
    assert positions.pop("pipeline") < stuck.position
    assert set(positions.values()) == {app.db.head()}
    monkeypatch.undo()
    projector.catch_up()
    live = {name: projector.digest(name) for name in projector.names()}
    rebuild(projector)
    assert {name: projector.digest(name) for name in projector.names()} == live


def test_a_rebuild_in_worker_processes_equals_one_in_process(
        app: O2C, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long log is rebuilt by worker processes (the trial balance in one, the other
    read models in another); the read models come out exactly the same."""
    _flow(app, n=4)
    projector = Projector(app.db, app.settings)
    projector.catch_up()
    live = {name: projector.digest(name) for name in projector.names()}
    # This log is short: it stays in this process.
    assert rebuild(projector, workers=2, open_db=open_database).worker_peaks_kb == []
    monkeypatch.setattr(rebuilding, "PARALLEL_FROM", 0)
    assert len(rebuild(projector, workers=2, open_db=open_database).worker_peaks_kb) == 2
    assert projector.position() == app.db.head()
    assert {name: projector.digest(name) for name in projector.names()} == live
    # Only the models asked for are rebuilt, even in workers.
    rebuilt = rebuild(projector, ["inventory", "ar_aging"], workers=2, open_db=open_database)
    assert len(rebuilt.worker_peaks_kb) == 2
    assert {name: projector.digest(name) for name in projector.names()} == live


def _index_names(app: O2C) -> set[str]:
    with app.db.transaction(write=False) as cur:
        if app.db.postgres:
            rows = cur.execute("SELECT indexname FROM pg_indexes WHERE schemaname = ?",
                               (app.db.schema,)).fetchall()
        else:
            rows = cur.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    return {str(row[0]) for row in rows}


def test_a_rebuild_builds_the_indexes_it_dropped_again(
        app: O2C, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secondary indexes are dropped for the rebuild and built again, even if it fails."""
    _flow(app, n=1)
    projector = Projector(app.db, app.settings)
    before = _index_names(app)
    assert {"rm_postings_recorded", "rm_postings_entry", "rm_postings_source",
            "rm_settlements_invoice", "rm_orders_customer"} <= before
    rebuild(projector)
    assert _index_names(app) == before

    def broken(*_: object) -> int:
        assert "rm_postings_entry" not in _index_names(app)  # dropped while it runs
        raise RuntimeError("disk full")

    monkeypatch.setattr(projector, "catch_up", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        rebuild(projector)
    assert _index_names(app) == before


def test_rebuilding_one_model_leaves_the_others(app: O2C) -> None:
    _flow(app, n=1)
    projector = Projector(app.db, app.settings)
    projector.catch_up()
    before = {name: projector.digest(name) for name in projector.names()}
    reset(projector, ["inventory"])
    assert reports.inventory(app.db, app.places)["items"] == []
    assert projector.digest("pipeline") == before["pipeline"]
    projector.catch_up()
    assert {name: projector.digest(name) for name in projector.names()} == before
    with pytest.raises(ValueError, match="unknown read model"):
        reset(projector, ["nope"])


def test_as_of_and_known_at(app: O2C) -> None:
    projector = Projector(app.db, app.settings)
    today = date(2026, 11, 20)
    app.post_journal_entry(Context(actor="t", today=today), "capital",
                           [{"account": "1000", "debit": "100.00"},
                            {"account": "3000", "credit": "100.00"}])
    projector.catch_up()
    first_known = reports.trial_balance(app.db, app.places)
    (moment,) = {row["recorded_at"] for row in _postings(app)}
    app.post_journal_entry(Context(actor="t", today=today), "back-dated fix",
                           [{"account": "1000", "debit": "5.00"},
                            {"account": "3000", "credit": "5.00"}],
                           date=(today - timedelta(days=30)).isoformat())
    projector.catch_up()

    def cash(report: dict[str, object]) -> Decimal:
        accounts = report["accounts"]
        assert isinstance(accounts, list)
        return next(r["balance"] for r in accounts if r["code"] == "1000")

    known = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    db, places = app.db, app.places
    assert cash(reports.trial_balance(db, places)) == Decimal("105.00")
    assert cash(reports.trial_balance(db, places, known_at=known)) == cash(first_known) == 100
    assert cash(reports.trial_balance(db, places, as_of=today - timedelta(days=1))) == Decimal(
        "5.00")
    assert cash(reports.trial_balance(db, places, as_of=today - timedelta(days=31))) == 0


def _postings(app: O2C) -> list[dict[str, str]]:
    with app.db.transaction(write=False) as cur:
        rows = cur.execute(f"SELECT recorded_at FROM {app.db.table('rm_postings')}").fetchall()
    return [{"recorded_at": r[0]} for r in rows]


class _Explain:
    """A cursor that explains the statement it is given instead of running it."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self.plan = ""

    def execute(self, sql: str, params: Any = ()) -> _Explain:
        rows = self.cursor.execute("EXPLAIN " + sql, params).fetchall()
        self.plan = "\n".join(str(row[0]) for row in rows)
        return self

    def fetchall(self) -> list[Any]:
        return []


@pytest.mark.postgres
def test_a_batch_reads_only_its_own_stretch_of_the_audit_rows(pg_schema_url: str) -> None:
    """The batch query bounds both the events and their audit rows: given only the
    events' bounds, PostgreSQL hash-joined the whole audit table on every batch."""
    app = build_app(Settings(database_url=pg_schema_url, pool_size=2))
    try:
        Projector(app.db, app.settings)  # the read models beside the log, as in production
        meta = app.db.table("o2c_event_meta")
        with app.db.transaction() as cur:
            # A long log, as rows only: the plan is all this test looks at.
            cur.execute(f"INSERT INTO {app.db.events_table} (originator_id, "
                        "originator_version, topic, state) SELECT gen_random_uuid(), 1, "
                        "'x', '\\x7b7d'::bytea FROM generate_series(1, 50000)")
            cur.execute(f"INSERT INTO {meta} SELECT e.notification_id, 'a', NULL, 'x', 'h' "
                        f"FROM {app.db.events_table} e WHERE e.notification_id > "
                        f"(SELECT COALESCE(MAX(notification_id), 0) FROM {meta})")
            cur.execute(f"ANALYZE {app.db.events_table}")
            cur.execute(f"ANALYZE {meta}")
        head = app.db.head()
        with app.db.transaction(write=False) as cur:
            explain = _Explain(cur)
            log.batch(app.db, explain, head - 2000, head, 5000)
        assert "o2c_event_meta" in explain.plan
        assert "Seq Scan" not in explain.plan, explain.plan
    finally:
        app.close()
