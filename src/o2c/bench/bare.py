"""The HTTP limit: a bare FastAPI route doing the raw writes of one stock receipt."""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

from fastapi import FastAPI

from o2c.bench import Raw

STATE = b'{"quantity":{"_type_":"decimal_str","_data_":"1"}}' + b" " * 420


def create_app() -> FastAPI:
    """A route writing what a receipt writes: two events and their audit rows, one read."""
    url = os.environ["O2C_BENCH_URL"]
    local = threading.local()
    app = FastAPI()

    def raw() -> Raw:
        if not hasattr(local, "raw"):
            local.raw = Raw(url)
        connection: Raw = local.raw
        return connection

    @app.post("/receipts", status_code=201)
    def receipt(body: dict[str, Any]) -> dict[str, Any]:
        db = raw()
        item = uuid.UUID(int=0) if db.postgres else uuid.UUID(int=0).hex
        db.execute("SELECT originator_id, originator_version, topic, state FROM bare_events "
                   "WHERE originator_id = ? AND originator_version > ?", (item, 0)).fetchall()
        with db.transaction():
            ids = []
            for _ in range(2):
                oid = uuid.uuid4() if db.postgres else uuid.uuid4().hex
                cursor = db.execute("INSERT INTO bare_events (originator_id, originator_version,"
                                    " topic, state) VALUES (?, 1, 't', ?) RETURNING "
                                    + ("notification_id" if db.postgres else "rowid"),
                                    (oid, STATE))
                ids.append(cursor.fetchone()[0])
            db.execute("SELECT hash FROM bare_meta ORDER BY notification_id DESC LIMIT 1"
                       ).fetchall()
            for nid in ids:
                db.execute("INSERT INTO bare_meta VALUES (?, 'bench', NULL, 'now', ?)",
                           (nid, "0" * 64))
        return {"id": str(ids[0]), "version": 1, "position": ids[-1], "echo": len(body)}

    return app


def create_tables(url: str) -> None:
    """The bare route's tables, shaped like the event store's."""
    db = Raw(url)
    if db.postgres:
        db.execute("CREATE TABLE bare_events (originator_id uuid, originator_version bigint, "
                   "topic text, state bytea, notification_id bigserial, "
                   "PRIMARY KEY (originator_id, originator_version))")
    else:
        db.execute("CREATE TABLE bare_events (originator_id TEXT, originator_version INTEGER, "
                   "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))")
    db.execute("CREATE TABLE bare_meta (notification_id BIGINT PRIMARY KEY, actor TEXT, "
               "idempotency_key TEXT, recorded_at TEXT, hash TEXT)")
    db.close()
