"""The OpenAPI spec describes every route: summary, auth, body with an example, answers, errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from o2c.domain import journal_entry, sales_order, values
from o2c.domain.customer import DEFAULT_PAYMENT_TERMS_DAYS
from o2c.domain.ledger_account import MAX_CODE
from o2c.domain.stock_item import MAX_SKU

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, operation) for path, operations in spec["paths"].items()
            for method, operation in operations.items()]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def test_every_operation_is_described(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "O2C_BOOTSTRAP_TOKEN" in scheme["description"]
    operations = _operations(spec)
    assert len(operations) >= 34
    for method, path, operation in operations:
        where = f"{method} {path}"
        assert operation.get("summary"), where
        assert operation.get("security") == [{"bearer": []}], where
        answers = operation["responses"]
        success = [code for code in answers if code.startswith("2")]
        assert len(success) == 1, where
        assert "$ref" in answers[success[0]]["content"]["application/json"]["schema"], where
        errors = {"401", "403", "422"} | ({"404", "409", "412", "413"} if method == "POST"
                                          else set())
        for code in errors:
            schema = answers[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorPublic"}, (where, code)


def test_every_command_body_has_an_example(spec: dict[str, Any]) -> None:
    bodies = 0
    for method, path, operation in _operations(spec):
        body = operation.get("requestBody")
        if body is None:
            continue
        bodies += 1
        content = body["content"]["application/json"]
        examples = content.get("examples")
        assert examples, f"{method} {path} has no example"
        model = _resolve(spec, content["schema"])
        assert model["additionalProperties"] is False, f"{method} {path} takes unknown fields"
        for example in examples.values():
            assert set(model.get("required", [])) <= set(example["value"]), f"{method} {path}"
    assert bodies >= 18


def test_command_names_and_public_models(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in ("CaptureLead", "PlaceSalesOrder", "ReceiveStock", "ShipOrder", "RecordPayment",
                 "PostJournalEntry", "OpenLedgerAccount", "WinOpportunity"):
        assert name in schemas
    for name in ("CommandPublic", "SalesOrderPublic", "TrialBalancePublic", "ErrorPublic",
                 "AuditLogPublic", "VerdictPublic"):
        assert name in schemas
    # Money is a decimal string on the way out.
    total = schemas["InvoicePublic"]["properties"]["total"]
    assert total["type"] == "string"


def test_body_limits_are_the_domains(spec: dict[str, Any]) -> None:
    """The schemas import their limits from the domain: the spec shows the domain's numbers."""
    schemas = spec["components"]["schemas"]

    def field(model: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = schemas[model]["properties"][name]
        return found

    terms = field("RegisterCustomer", "payment_terms_days")
    assert (terms["default"], terms["maximum"]) == (DEFAULT_PAYMENT_TERMS_DAYS, values.MAX_DAYS)
    assert field("ConvertLead", "payment_terms_days") == terms
    assert field("CaptureLead", "name")["maxLength"] == values.MAX_TEXT
    assert field("DisqualifyLead", "reason")["maxLength"] == values.MAX_LONG_TEXT
    assert field("OrderLine", "sku")["maxLength"] == MAX_SKU
    assert field("OpenLedgerAccount", "code")["maxLength"] == MAX_CODE
    assert field("EntryLine", "account")["maxLength"] == MAX_CODE
    for model in ("PlaceSalesOrder", "WinOpportunity", "ShipOrder"):
        assert field(model, "lines")["maxItems"] == sales_order.MAX_LINES
    assert field("PostJournalEntry", "lines")["maxItems"] == journal_entry.MAX_LINES


def test_docs_page(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
