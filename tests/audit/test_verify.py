"""Tamper evidence: the chain names the first edited, deleted, inserted or swapped event."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from o2c import audit
from o2c.application import O2C, Context
from o2c.persistence.audit_rows import META_TABLE

CTX = Context(actor="auditor-test", idempotency_key=None)


def _story(app: O2C) -> None:
    app.register_stock_item(CTX, "A-1", "Thing")
    app.receive_stock(CTX, "A-1", "10", "4.00")
    customer = app.register_customer(CTX, "Buyer", "buyer@example.com")
    order = app.place_sales_order(CTX, customer.id, [{"sku": "A-1", "quantity": "4",
                                                      "unit_price": "9.00"}]).id
    app.confirm_order(CTX, order)
    app.ship_order(CTX, order, [{"sku": "A-1", "quantity": "4"}])
    app.invoice_order(Context(actor="finance", idempotency_key="inv-1"), order)
    app.pay_order(CTX, order, "10.00", "cheque 1")


def _position(app: O2C) -> str:
    return "notification_id" if app.db.postgres else "rowid"


def _intrude(app: O2C, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Drops the append-only triggers, as an intruder with the owner's rights would."""
    table = app.recorder.events_table_name
    with app.db.transaction() as cur:
        for t in (table, META_TABLE):
            for verb in ("update", "delete"):
                if app.db.postgres:
                    cur.execute(f"DROP TRIGGER IF EXISTS {t}_no_{verb} ON {app.db.table(t)}")
                else:
                    cur.execute(f"DROP TRIGGER IF EXISTS {t}_no_{verb}")
        for sql, params in statements:
            cur.execute(sql, params)


def _state(app: O2C, position: int) -> bytes:
    with app.db.transaction(write=False) as cur:
        row = cur.execute(f"SELECT state FROM {app.db.events_table} WHERE {_position(app)} = ?",
                          (position,)).fetchone()
    assert row is not None
    return bytes(row[0])


def test_untouched_log_passes(app: O2C) -> None:
    _story(app)
    verdict = audit.verify(app.db)
    assert verdict.ok, verdict.reason
    assert verdict.count == verdict.head_position == app.db.head()
    with app.db.transaction(write=False) as cur:
        row = cur.execute(f"SELECT hash FROM {app.db.table(META_TABLE)} "
                          "ORDER BY notification_id DESC LIMIT 1").fetchone()
    assert row is not None
    assert verdict.head_hash == row[0]


def _edit(app: O2C, k: int) -> None:
    edited = _state(app, k).replace(b'"', b"'", 1)
    _intrude(app, (f"UPDATE {app.db.events_table} SET state = ? WHERE {_position(app)} = ?",
                   (edited, k)))


def _delete(app: O2C, k: int) -> None:
    _intrude(app, (f"DELETE FROM {app.db.events_table} WHERE {_position(app)} = ?", (k,)))


def _swap(app: O2C, k: int) -> None:
    a, b = _state(app, k), _state(app, k + 1)
    sql = f"UPDATE {app.db.events_table} SET state = ? WHERE {_position(app)} = ?"
    _intrude(app, (sql, (b, k)), (sql, (a, k + 1)))


def _edit_actor(app: O2C, k: int) -> None:
    _intrude(app, (f"UPDATE {app.db.table(META_TABLE)} SET actor = 'someone-else' "
                   "WHERE notification_id = ?", (k,)))


@pytest.mark.parametrize(("tamper", "words"), [
    (_edit, "does not match its hash"),
    (_delete, "was deleted"),
    (_swap, "does not match its hash"),
    (_edit_actor, "does not match its hash"),
])
def test_tampering_is_named(app: O2C, tamper: Callable[[O2C, int], None], words: str) -> None:
    _story(app)
    k = app.db.head() - 5
    tamper(app, k)
    verdict = audit.verify(app.db)
    assert not verdict.ok
    assert verdict.first_bad_position == k
    assert words in verdict.reason
    assert verdict.count == k - 1


def test_inserted_event_is_named(app: O2C) -> None:
    _story(app)
    head = app.db.head()
    template = _state(app, head)
    with app.db.transaction(write=False) as cur:
        oid, topic = cur.execute(
            f"SELECT originator_id, topic FROM {app.db.events_table} WHERE {_position(app)} = ?",
            (head,)).fetchone() or (None, None)
    _intrude(app, (f"INSERT INTO {app.db.events_table} (originator_id, originator_version, "
                   "topic, state) VALUES (?, ?, ?, ?)", (oid, 999, topic, template)))
    verdict = audit.verify(app.db)
    assert not verdict.ok
    assert verdict.first_bad_position is not None
    assert verdict.first_bad_position > head
    assert "inserted outside o2c" in verdict.reason


def test_the_log_refuses_update_and_delete(app: O2C) -> None:
    _story(app)
    for sql in (f"UPDATE {app.db.events_table} SET topic = 'x'",
                f"DELETE FROM {app.db.events_table}",
                f"UPDATE {app.db.table(META_TABLE)} SET actor = 'x'",
                f"DELETE FROM {app.db.table(META_TABLE)}"):
        with pytest.raises(Exception, match="append-only"), app.db.transaction() as cur:
            cur.execute(sql)
    assert audit.verify(app.db).ok


def test_a_saved_head_proves_a_prefix(app: O2C) -> None:
    _story(app)
    saved = audit.verify(app.db)
    app.receive_stock(CTX, "A-1", "1", "4.00")
    assert audit.verify(app.db, expect=(saved.head_position, saved.head_hash)).ok
    forged = (saved.head_position, "0" * 64)
    verdict = audit.verify(app.db, expect=forged)
    assert not verdict.ok
    assert "not a prefix" in verdict.reason
    assert not audit.verify(app.db, expect=(10**9, saved.head_hash)).ok


def test_history_names_actor_and_key(app: O2C) -> None:
    _story(app)
    order_id = next(step for step in audit.history(app, str(app.stock_item("A-1").id)))
    assert order_id["event"] == "StockItem.Registered"
    with app.db.transaction(write=False) as cur:
        row = cur.execute(f"SELECT notification_id FROM {app.db.table(META_TABLE)} "
                          "WHERE idempotency_key = 'inv-1'").fetchone()
    assert row is not None
    invoiced = [s for o in _orders(app) for s in audit.history(app, o)
                if s["event"] == "SalesOrder.Invoiced"]
    assert [(s["actor"], s["idempotency_key"]) for s in invoiced] == [("finance", "inv-1")]
    assert audit.history(app, "not-a-uuid") == []


def _orders(app: O2C) -> list[str]:
    with app.db.transaction(write=False) as cur:
        rows = cur.execute(f"SELECT DISTINCT originator_id FROM {app.db.events_table} "
                           "WHERE topic LIKE '%SalesOrder.Placed'").fetchall()
    return [str(r[0]) if app.db.postgres else str(__import__("uuid").UUID(r[0])) for r in rows]
