"""Races on PostgreSQL between many processes: 4 ``o2c serve`` processes (real
uvicorn, each with its own application, caches, locks and projector) on one
schema, 16 client threads.

Per round, all at once from a barrier:

- every order of 24 (one unit each) is confirmed twice, under different keys,
  against a SKU with only 10 on hand: at most 10 reserved, never more
  (checked at every log position by replaying the log), each order confirmed
  at most once, and if any was refused for want of stock then all 10 were sold;
- 16 clients pay the whole of the same invoice, each under its own key:
  exactly one payment settles it, the others are the customer's credit;
- 16 clients send one receipt under one Idempotency-Key to different servers:
  every one gets the same 2xx answer and it is recorded once.

Then: no 5xx and no dropped connection anywhere; every key answered 2xx is in
the log and every key refused is not; every DESIGN.md invariant holds over the
whole log (``support.books``); the live read models (kept by the servers'
projectors) equal the log and a rebuild from zero.

Bounded for CI (one round, about 20 s); ``scripts/reliability`` raises
``O2C_RACE_ROUNDS``.
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from o2c.application import O2C, Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from support.books import Books, recorded_keys
from support.figures import record
from support.load import Answer, Answers, new_key, post
from support.processes import Server, o2c_env

pytestmark = pytest.mark.postgres

SERVERS = int(os.environ.get("O2C_RACE_SERVERS", "4"))
CLIENTS = int(os.environ.get("O2C_RACE_CLIENTS", "16"))
ROUNDS = int(os.environ.get("O2C_RACE_ROUNDS", "1"))
SEED = int(os.environ.get("O2C_RACE_SEED", "10"))
ON_HAND, ORDERS = 10, 24
TOKEN = "race-" + uuid.uuid4().hex


@pytest.fixture
def cluster(pg_schema_url: str, tmp_path: Path) -> Iterator[tuple[O2C, list[Server]]]:
    """The schema's application (for set-up and checks) and the running servers."""
    app = build_app(Settings(database_url=pg_schema_url, pool_size=4))
    env = o2c_env(pg_schema_url, O2C_BOOTSTRAP_TOKEN=TOKEN, O2C_POOL_SIZE="4",
                  O2C_SERVER_PROJECTOR="true")
    servers = [Server(env, tmp_path / f"server-{n}.log") for n in range(SERVERS)]
    try:
        for server in servers:  # all at once: start-up races are part of the test
            server.start(wait=False)
        for server in servers:
            server.wait_ready()
        yield app, servers
    finally:
        for server in servers:
            server.stop()
        app.close()


def _set_up_round(app: O2C, r: int) -> dict[str, Any]:
    ctx = Context(actor="race-setup")
    hot, paid, keyed = f"HOT-{r}", f"PAY-{r}", f"KEY-{r}"
    for sku in (hot, paid, keyed):
        app.register_stock_item(ctx, sku, sku)
    app.receive_stock(ctx, hot, str(ON_HAND), "2.00")
    app.receive_stock(ctx, paid, "1", "3.00")
    customer = app.register_customer(ctx, f"Racer {r}", f"ap{r}@race.example").id
    orders = [app.place_sales_order(ctx, customer, [
        {"sku": hot, "quantity": "1", "unit_price": "5.00"}]).id for _ in range(ORDERS)]
    billed = app.place_sales_order(ctx, customer, [
        {"sku": paid, "quantity": "1", "unit_price": "7.00"}]).id
    app.confirm_order(ctx, billed)
    app.ship_order(ctx, billed, [{"sku": paid, "quantity": "1"}])
    total = app.invoice_order(ctx, billed).extra["total"]
    return {"hot": hot, "keyed": keyed, "orders": orders, "billed": billed, "total": total}


def _race(servers: list[Server], plan: dict[str, Any], rng: random.Random
          ) -> list[tuple[str, Answer]]:
    tasks: list[tuple[str, str, dict[str, Any], str]] = []
    for order in plan["orders"]:
        for _ in range(2):
            tasks.append(("confirm", f"/sales-orders/{order}/confirm", {}, new_key("confirm")))
    for _ in range(CLIENTS):
        tasks.append(("pay", f"/sales-orders/{plan['billed']}/payments",
                      {"amount": plan["total"], "reference": "race"}, new_key("pay")))
    same = new_key("same")
    for _ in range(CLIENTS):
        tasks.append(("same", f"/stock-items/{plan['keyed']}/receipts",
                      {"quantity": "4", "unit_cost": "1.25"}, same))
    rng.shuffle(tasks)
    shares = [tasks[n::CLIENTS] for n in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS)
    answers = Answers()

    def client(n: int) -> list[tuple[str, Answer]]:
        done = []
        with httpx.Client() as http:
            barrier.wait()
            for turn, (kind, path, body, key) in enumerate(shares[n]):
                base = servers[(n + turn) % len(servers)].base
                done.append((kind, post(http, base, path, body, TOKEN, answers, key)))
        return done

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [item for part in pool.map(client, range(CLIENTS)) for item in part]


def test_many_servers_race_and_nothing_is_lost_or_oversold(
        cluster: tuple[O2C, list[Server]]) -> None:
    app, servers = cluster
    rng = random.Random(SEED)
    acknowledged: dict[str, Answer] = {}
    refused: dict[str, Answer] = {}
    statuses: dict[int, int] = {}
    for r in range(ROUNDS):
        plan = _set_up_round(app, r)
        results = _race(servers, plan, rng)
        bad = [a for _, a in results if a.status == 0 or a.status >= 500]
        assert not bad, f"5xx or no answer under races: {bad[:5]}"
        by_kind: dict[str, list[Answer]] = {}
        for _, answer in results:
            statuses[answer.status] = statuses.get(answer.status, 0) + 1
        for kind, answer in results:
            by_kind.setdefault(kind, []).append(answer)
        for kind, answer in results:
            assert answer.key is not None
            if 200 <= answer.status < 300:
                acknowledged.setdefault(answer.key, answer)
            else:
                assert answer.status == 409, (kind, answer)
                refused[answer.key] = answer

        # Confirms: at most ON_HAND reserved, each order once; all sold if any was refused
        # for want of stock.
        confirmed = {a.path for a in by_kind["confirm"] if a.status == 200}
        item = app.stock_item(plan["hot"])
        assert item.reserved == len(confirmed) <= ON_HAND == item.on_hand
        assert sum(a.status == 200 for a in by_kind["confirm"]) == len(confirmed)
        if any(a.body.get("error") == "insufficient_stock" for a in by_kind["confirm"]
               if a.status == 409):
            assert item.reserved == ON_HAND

        # Payments: each of the 16 is recorded (an overpayment is the customer's credit,
        # not refused), exactly one settles the invoice, and the order is paid once; the
        # other 15 are the customer's unapplied credit, to the cent.
        pays = by_kind["pay"]
        assert {a.status for a in pays} == {201}, pays
        assert sum(bool(a.body["allocations"]) for a in pays) == 1, pays
        order = app.sales_order(plan["billed"])
        assert order.paid == Decimal(plan["total"])
        credit = app.customer(order.customer_id).credit
        assert credit == Decimal(plan["total"]) * (len(pays) - 1)

        # One key at once on every server: one answer for all, recorded once.
        same = by_kind["same"]
        assert {a.status for a in same} == {201}, same
        assert len({str(a.body) for a in same}) == 1
        assert recorded_keys(app)[same[0].key or ""] == 2  # the receipt and its entry
        assert app.stock_item(plan["keyed"]).on_hand == 4

    for server in servers:  # their projectors stop with them; the checks read the store
        server.stop()
    keys = recorded_keys(app)
    missing = [k for k in acknowledged if k not in keys]
    assert not missing, f"acknowledged (2xx) but not in the log: {missing[:5]}"
    leaked = [k for k in refused if k in keys]
    assert not leaked, f"refused but recorded: {leaked[:5]}"
    books = Books(app)
    books.check()
    assert books.payments == ROUNDS  # one per round's invoice (the set-up pays nothing)
    books.check_read_models()
    record("races", servers=SERVERS, clients=CLIENTS, rounds=ROUNDS, seed=SEED,
           requests=sum(statuses.values()), statuses=dict(sorted(statuses.items())),
           acknowledged=len(acknowledged), refused=len(refused), events=books.events)
