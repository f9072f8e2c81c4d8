"""Lineage: from a journal entry or an order back to its lead, forward to its cash."""

from __future__ import annotations

import pytest

from o2c import audit, demo
from o2c.application import O2C, Context
from o2c.domain.errors import NotFoundError
from o2c.projections import Projector


def test_order_trail_runs_from_lead_to_cash(app: O2C) -> None:
    ids = demo.run(app, say=lambda _: None)
    trail = audit.trail(app, Projector(app.db, app.settings), ids["order_apex"])
    assert trail["subject_type"] == "sales_order"
    back = [step["event"] for step in trail["backward"]]
    assert back == ["Lead.Captured", "Lead.Converted", "Opportunity.Opened", "Opportunity.Won",
                    "SalesOrder.Placed"]
    assert trail["backward"][0]["aggregate_id"] == ids["lead_apex"]
    forward = [step["event"] for step in trail["forward"]]
    assert forward.count("SalesOrder.Shipped") == 2
    assert forward.count("SalesOrder.Invoiced") == 2
    assert forward.count("SalesOrder.PaymentReceived") == 2
    positions = [step["position"] for step in trail["backward"] + trail["forward"]]
    assert positions == sorted(positions)
    causes = [entry["caused_by"] for entry in trail["journal_entries"]]
    assert causes == ["SalesOrder.Shipped", "SalesOrder.Invoiced", "SalesOrder.Shipped",
                      "SalesOrder.Invoiced", "SalesOrder.PaymentReceived",
                      "SalesOrder.PaymentReceived"]
    assert all(step["actor"].startswith("demo:") for step in trail["forward"])


def test_journal_entry_trail_names_its_cause(app: O2C) -> None:
    ids = demo.run(app, say=lambda _: None)
    projector = Projector(app.db, app.settings)
    invoice_entry = audit.trail(app, projector, ids["order_apex"])["journal_entries"][1]
    trail = audit.trail(app, projector, invoice_entry["journal_entry_id"])
    assert trail["subject_type"] == "journal_entry"
    assert trail["backward"][0]["event"] == "Lead.Captured"
    assert trail["backward"][-1]["event"] == "JournalEntry.Posted"
    assert trail["backward"][-1]["data"]["cause"] == "SalesOrder.Invoiced"
    assert any(step["event"] == "SalesOrder.PaymentReceived" for step in trail["forward"])


def test_unknown_ids_are_not_found(app: O2C) -> None:
    projector = Projector(app.db, app.settings)
    with pytest.raises(NotFoundError):
        audit.trail(app, projector, "nope")
    with pytest.raises(NotFoundError):
        audit.trail(app, projector, "00000000-0000-4000-8000-000000000000")
    customer = app.register_customer(Context(), "X", "x@x.example")
    with pytest.raises(NotFoundError):
        audit.trail(app, projector, customer.id)
