"""Return authorisations over HTTP (issue 13, part 3): POST
/sales-orders/{id}/return-authorisations (sales, finance), a return received against an
RMA (``authorisation``), cancelling one, and GET /sales-orders/{id}/returns showing
authorised / received / outstanding per SKU; refusals record nothing, idempotency,
If-Match, roles -- on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from test_returns_api import _ok, _shipped_and_invoiced

from o2c.application import O2C
from support.books import Books

Headers = dict[str, dict[str, str]]


def _invoiced(client: TestClient, tokens: Headers) -> str:
    """An order of 10 RET-1: 6 shipped and invoiced, then 2 more shipped."""
    return _shipped_and_invoiced(client, tokens)[1]


def test_authorise_receive_against_and_cancel_over_http(
        client: TestClient, tokens: Headers, api_app: O2C) -> None:
    order = _invoiced(client, tokens)
    sales, warehouse, finance = tokens["sales"], tokens["warehouse"], tokens["finance"]
    url = f"/sales-orders/{order}/return-authorisations"
    head = api_app.db.head()
    for body, status, code in (
            ({"lines": [{"sku": "RET-1", "quantity": "9"}], "reason": "x"}, 409, "over_return"),
            ({"lines": [{"sku": "RET-1", "quantity": "7"}], "reason": "x"}, 409,
             "not_invoiced"),
            ({"lines": [{"sku": "RET-1", "quantity": "1"}]}, 422, None),  # no reason
            ({"lines": [{"sku": "RET-1", "quantity": "1", "damaged": True}], "reason": "x"},
             422, None),
            ({"lines": [], "reason": "x"}, 422, None)):
        refused = client.post(url, headers=sales, json=body)
        assert refused.status_code == status, (body, refused.text)
        if code:
            assert refused.json()["error"] == code
    good = {"lines": [{"sku": "RET-1", "quantity": "4"}], "reason": "Wrong model"}
    assert client.post(url, headers=warehouse, json=good).status_code == 403
    assert client.post(url, headers=tokens["auditor"], json=good).status_code == 403
    assert client.post(url, headers={**sales, "If-Match": "1"}, json=good).status_code == 412
    assert api_app.db.head() == head, "a refused authorisation recorded something"

    keyed = {**sales, "Idempotency-Key": "rma-1"}
    done = _ok(client.post(url, headers=keyed, json=good), 201)
    assert done["rma_number"] == "RMA-1"
    assert api_app.db.head() == head + 1, "an authorisation posts nothing"
    assert _ok(client.post(url, headers=keyed, json=good), 201) == done
    assert api_app.db.head() == head + 1
    # 6 invoiced, 4 awaited: 3 more is refused; 2 more by finance is RMA-2.
    assert client.post(url, headers=finance, json={
        "lines": [{"sku": "RET-1", "quantity": "3"}], "reason": "y"}).json()[
        "error"] == "not_invoiced"
    assert _ok(client.post(url, headers=finance, json={
        "lines": [{"sku": "RET-1", "quantity": "2"}], "reason": "y"}), 201)[
        "rma_number"] == "RMA-2"

    returns = f"/sales-orders/{order}/returns"
    head = api_app.db.head()
    for body, status, code in (
            ({"lines": [{"sku": "RET-1", "quantity": "5"}], "authorisation": "RMA-1"}, 409,
             "not_authorised"),
            ({"lines": [{"sku": "RET-1", "quantity": "1"}], "authorisation": "RMA-7"}, 422,
             "unknown_reference")):
        refused = client.post(returns, headers=warehouse, json=body)
        assert refused.status_code == status, refused.text
        assert refused.json()["error"] == code
    assert api_app.db.head() == head
    received = _ok(client.post(returns, headers=warehouse, json={
        "lines": [{"sku": "RET-1", "quantity": "3"}], "authorisation": "RMA-1"}), 201)
    assert (received["authorisation"], received["total"]) == ("RMA-1", "324.00")

    cancel = f"{url}/RMA-1/cancel"
    assert client.post(cancel, headers=warehouse, json={"reason": "k"}).status_code == 403
    assert client.post(f"{url}/RMA-9/cancel", headers=sales,
                       json={"reason": "k"}).status_code == 404
    assert client.post(cancel, headers=sales, json={}).status_code == 422
    cancelled = _ok(client.post(cancel, headers=sales, json={"reason": "Keeps one"}))
    assert cancelled["rma_number"] == "RMA-1"
    refused = client.post(cancel, headers=sales, json={"reason": "Again"})
    assert (refused.status_code, refused.json()["error"]) == (409, "invalid_state")

    view = _ok(client.get(returns, headers=tokens["auditor"]))
    assert view["lines"] == [{"sku": "RET-1", "shipped": "8", "invoiced": "6",
                              "returned": "3", "returnable": "3"}]
    assert [r["return_no"] for r in view["returns"]] == [1]
    rmas = {r["rma_number"]: r for r in view["authorisations"]}
    assert rmas["RMA-1"]["status"] == "cancelled"
    assert rmas["RMA-1"]["cancel_reason"] == "Keeps one"
    assert rmas["RMA-1"]["returns"] == [1]
    assert rmas["RMA-1"]["lines"] == [{"sku": "RET-1", "authorised": "4", "received": "3",
                                       "outstanding": "0"}]
    assert rmas["RMA-2"]["status"] == "open"
    assert rmas["RMA-2"]["lines"] == [{"sku": "RET-1", "authorised": "2", "received": "0",
                                       "outstanding": "2"}]
    # Receiving RMA-2 in full makes it received; it can no longer be cancelled.
    _ok(client.post(returns, headers=finance, json={
        "lines": [{"sku": "RET-1", "quantity": "2", "damaged": True}],
        "authorisation": "RMA-2"}), 201)
    view = _ok(client.get(returns, headers=sales))
    assert view["authorisations"][1]["status"] == "received"
    refused = client.post(f"{url}/RMA-2/cancel", headers=finance, json={"reason": "late"})
    assert refused.status_code == 409
    Books(api_app).check()
    Books(api_app).check_read_models()
