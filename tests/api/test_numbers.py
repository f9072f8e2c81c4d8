"""Numbers in request bodies: only plain ASCII decimals and exact JSON numbers pass;
every refusal is a 422 that names the field and records nothing.

Bodies are sent as raw JSON text (``content=``), not built by ``json=``, so what the
server parses is exactly what a client could send (``1e-999999``, ``NaN``, ``true``).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from o2c.application import O2C
from o2c.domain.money import MAX_AMOUNT, MAX_QUANTITY

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def admin(client: TestClient, tokens: dict[str, dict[str, str]]) -> dict[str, str]:
    headers = {**tokens["bootstrap"], **JSON}
    assert client.post("/stock-items", headers=headers,
                       content='{"sku": "S-1", "name": "Sensor"}').status_code == 201
    return headers


@pytest.fixture
def customer(client: TestClient, admin: dict[str, str]) -> str:
    answer = client.post("/customers", headers=admin,
                         content='{"name": "Apex", "email": "ap@apex.example"}')
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _refused(client: TestClient, admin: dict[str, str], api_app: O2C, path: str,
             body: str, field: str) -> str:
    """Posts ``body``: a 422 naming ``field``, and nothing recorded; its detail."""
    head = api_app.db.head()
    answer = client.post(path, headers=admin, content=body)
    assert answer.status_code == 422, (body, answer.text)
    assert answer.json()["error"] in ("invalid_input", "invalid_amount", "invalid_quantity")
    detail = str(answer.json()["detail"])
    assert field in detail, (body, detail)
    assert api_app.db.head() == head
    return detail


LOOSE_TEXTS = ["\u0661\u0662\u0663", "\uff15", "1_000", "1,000", "1E+2", "1e3", "0x10",
               "+5", " 5", "5 ", ".5", "5.", "1e-999999", "NaN", "Infinity", "-Infinity",
               "--1", "", "\u00a05"]


#: JSON numbers (and look-alikes) that are not an exact figure within the limits.
NOT_EXACT = ["1e-999999", "1E-400", "0.0000000000000000000000001", "1e999999", "NaN",
             "Infinity", "-Infinity", "true", "false", "1" + "0" * 5000]


def test_only_plain_ascii_decimal_text_passes_as_a_quantity_or_an_amount(
        client: TestClient, admin: dict[str, str], api_app: O2C) -> None:
    for text in LOOSE_TEXTS:
        quoted = json.dumps(text)
        _refused(client, admin, api_app, "/stock-items/S-1/receipts",
                 f'{{"quantity": {quoted}, "unit_cost": "2.00"}}', "quantity")
        _refused(client, admin, api_app, "/stock-items/S-1/receipts",
                 f'{{"quantity": "1", "unit_cost": {quoted}}}', "unit_cost")


def test_json_numbers_that_are_not_exact_figures_are_refused_not_rounded(
        client: TestClient, admin: dict[str, str], api_app: O2C) -> None:
    for number in NOT_EXACT:
        _refused(client, admin, api_app, "/stock-items/S-1/receipts",
                 f'{{"quantity": {number}, "unit_cost": "2.00"}}', "quantity")
        _refused(client, admin, api_app, "/stock-items/S-1/receipts",
                 f'{{"quantity": "1", "unit_cost": {number}}}', "unit_cost")


def test_a_count_of_1e_minus_999999_is_not_a_count_of_zero(
        client: TestClient, admin: dict[str, str], api_app: O2C) -> None:
    # Zero is a valid count, so 1e-999999 read as a float (0.0) would be recorded.
    assert client.post("/stock-items/S-1/receipts", headers=admin,
                       content='{"quantity": "4", "unit_cost": "2.00"}').status_code == 201
    _refused(client, admin, api_app, "/stock-items/S-1/adjustments",
             '{"counted_quantity": 1e-999999, "reason": "count"}', "counted_quantity")
    assert api_app.stock_item("S-1").on_hand == 4


def test_exact_json_numbers_and_plain_text_are_accepted(
        client: TestClient, admin: dict[str, str], api_app: O2C) -> None:
    on_hand = Decimal(0)
    for quantity, unit_cost, received, value in [
            ("12.5", "0.1", "12.5", "1.25"),      # JSON fractions, exactly (0.1 is a tenth)
            ("1e1", "2.50", "10", "25.00"),       # an exponent in a JSON number is exact too
            ("3", "7", "3", "21.00"),             # integers
            ('"2.000"', '"1.10"', "2", "2.20")]:  # decimal text
        answer = client.post("/stock-items/S-1/receipts", headers=admin,
                             content=f'{{"quantity": {quantity}, "unit_cost": {unit_cost}}}')
        assert answer.status_code == 201, answer.text
        assert answer.json()["value"] == value
        on_hand += Decimal(received)
        item = api_app.stock_item("S-1")
        assert item.on_hand == on_hand
        assert str(item.layers[-1]["value"]) == value


def test_minus_zero_is_stored_as_zero(client: TestClient, admin: dict[str, str],
                                      api_app: O2C) -> None:
    for body in ('{"quantity": "1", "unit_cost": "-0"}',
                 '{"quantity": "1", "unit_cost": -0.00}'):
        answer = client.post("/stock-items/S-1/receipts", headers=admin, content=body)
        assert answer.status_code == 201, answer.text
        assert answer.json()["value"] == "0.00"
    layers = api_app.stock_item("S-1").layers
    assert [str(layer["unit_cost"]) for layer in layers] == ["0.00", "0.00"]
    shown = client.get("/stock-items/S-1", headers=admin).json()
    assert all(not layer["unit_cost"].startswith("-") for layer in shown["layers"])
    customer = client.post("/customers", headers=admin, content=(
        '{"name": "Zero", "email": "z@zero.example", "credit_limit": "-0"}'))
    assert customer.status_code == 201, customer.text
    assert str(api_app.customer(customer.json()["id"]).credit_limit) == "0.00"


def test_payment_terms_are_a_json_integer(client: TestClient, admin: dict[str, str],
                                          api_app: O2C) -> None:
    for days in ["true", "false", "30.0", '"30"', "3e1", "null"]:
        _refused(client, admin, api_app, "/customers",
                 f'{{"name": "Apex", "email": "ap@apex.example", "payment_terms_days": {days}}}',
                 "payment_terms_days")
    answer = client.post("/customers", headers=admin, content=(
        '{"name": "Apex", "email": "ap@apex.example", "payment_terms_days": 45}'))
    assert answer.status_code == 201, answer.text
    assert api_app.customer(answer.json()["id"]).payment_terms_days == 45


def test_the_issues_poison_order_is_refused(client: TestClient, admin: dict[str, str],
                                            api_app: O2C, customer: str) -> None:
    # Each figure was within the old input limit; the line total (10^24) fits no
    # 64-bit column, and recorded it stopped every read model.
    detail = _refused(client, admin, api_app, "/sales-orders", (
        f'{{"customer_id": "{customer}", "lines": [{{"sku": "S-1", '
        '"quantity": "1000000000000", "unit_price": "1000000000000"}]}'), "quantity")
    assert "limit" in detail


def test_an_order_whose_figures_would_not_fit_is_refused(
        client: TestClient, admin: dict[str, str], api_app: O2C, customer: str) -> None:
    for quantity, unit_price, what in [
            (str(MAX_QUANTITY), "1000.01", "total"),                 # quantity x price
            ("2", str(MAX_AMOUNT), "total"),
            (str(MAX_QUANTITY + 1), "0", "quantity"),                # a quantity alone
            ("1", str(MAX_AMOUNT + Decimal("0.01")), "unit_price")]:
        body = (f'{{"customer_id": "{customer}", "lines": [{{"sku": "S-1", '
                f'"quantity": "{quantity}", "unit_price": "{unit_price}"}}]}}')
        assert what in _refused(client, admin, api_app, "/sales-orders", body, "line 1")
    # With the 8 % tax the total passes the limit though the line does not.
    body = (f'{{"customer_id": "{customer}", "lines": [{{"sku": "S-1", '
            f'"quantity": "1", "unit_price": "{MAX_AMOUNT}"}}]}}')
    _refused(client, admin, api_app, "/sales-orders", body, "total with tax")


def test_figures_at_the_limits_are_accepted_and_projected(
        client: TestClient, admin: dict[str, str], api_app: O2C, customer: str) -> None:
    # A billion units at 900: net 9 x 10^11, 9.72 x 10^11 with the 8 % tax.
    body = (f'{{"customer_id": "{customer}", "lines": [{{"sku": "S-1", '
            f'"quantity": "{MAX_QUANTITY}", "unit_price": "900"}}]}}')
    answer = client.post("/sales-orders", headers=admin, content=body)
    assert answer.status_code == 201, answer.text
    shown = client.get(f"/customers/{customer}?after={answer.json()['position']}",
                       headers=admin)
    assert shown.status_code == 200
    assert Decimal(shown.json()["ordered"]) == MAX_QUANTITY * 900


def test_a_receipt_worth_more_than_the_limit_is_refused(
        client: TestClient, admin: dict[str, str], api_app: O2C) -> None:
    _refused(client, admin, api_app, "/stock-items/S-1/receipts",
             f'{{"quantity": "{MAX_QUANTITY}", "unit_cost": "1000.01"}}', "receipt's value")


def test_a_journal_entry_over_the_limit_is_refused(
        client: TestClient, admin: dict[str, str], api_app: O2C) -> None:
    half = MAX_AMOUNT / 2 + 1
    lines = ", ".join([f'{{"account": "1000", "debit": "{half}"}}',
                       f'{{"account": "1000", "debit": "{half}"}}',
                       f'{{"account": "3000", "credit": "{2 * half}"}}'])
    # 2 x half is past the limit; each figure alone is within it.
    _refused(client, admin, api_app, "/journal-entries",
             f'{{"memo": "too big", "lines": [{lines}]}}', "line 3")
    lines = ", ".join([f'{{"account": "1000", "debit": "{half}"}}',
                       f'{{"account": "1000", "debit": "{half}"}}',
                       f'{{"account": "3000", "credit": "{half}"}}',
                       f'{{"account": "3000", "credit": "{half}"}}'])
    _refused(client, admin, api_app, "/journal-entries",
             f'{{"memo": "too big", "lines": [{lines}]}}', "entry's total")


def test_a_body_that_is_not_a_json_object_is_refused(
        client: TestClient, admin: dict[str, str], api_app: O2C) -> None:
    entry = client.post("/journal-entries", headers=admin, content=(
        '{"memo": "m", "lines": [{"account": "1000", "debit": "5"}, '
        '{"account": "3000", "credit": "5"}]}'))
    assert entry.status_code == 201, entry.text
    # Every field of a reversal's body is optional: only the shape can refuse these.
    for body in ("NaN", "Infinity", "-Infinity", "5", '"x"', "[]", "null", "true"):
        head = api_app.db.head()
        answer = client.post(f"/journal-entries/{entry.json()['id']}/reverse",
                             headers=admin, content=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"] == "invalid JSON: a request body must be a JSON object"
        assert api_app.db.head() == head


def test_a_key_given_twice_is_refused(client: TestClient, admin: dict[str, str],
                                      api_app: O2C) -> None:
    # Which quantity is meant? The last one would silently win.
    for body in ('{"quantity": "1", "quantity": "1000", "unit_cost": "2.00"}',
                 '{"quantity": "1", "unit_cost": "2.00", "unit_cost": "2.00"}'):
        head = api_app.db.head()
        answer = client.post("/stock-items/S-1/receipts", headers=admin, content=body)
        assert answer.status_code == 422, (body, answer.text)
        assert "appears twice" in answer.json()["detail"]
        assert api_app.db.head() == head
