"""Lead: captured, qualified or disqualified, converted once."""

from __future__ import annotations

import uuid

import pytest
from refusal import refused, replayed

from o2c.domain.errors import InvalidInputError, InvalidStateError
from o2c.domain.lead import CONVERTED, DISQUALIFIED, NEW, QUALIFIED, Lead


def captured() -> Lead:
    return Lead.capture(" Ada Lovelace ", "Analytical Engines Ltd", "Ada@Engines.Example", "web")


def test_capture_records_a_new_lead_with_clean_fields() -> None:
    lead = captured()
    assert (lead.name, lead.company, lead.email, lead.source, lead.status) == (
        "Ada Lovelace", "Analytical Engines Ltd", "ada@engines.example", "web", NEW)
    assert (lead.customer_id, lead.opportunity_id) == (None, None)
    event = lead.pending_events[0]
    assert isinstance(event, Lead.Captured)
    assert event.email == "ada@engines.example"


@pytest.mark.parametrize(("name", "company", "email", "source"), [
    ("", "Co", "a@b.example", "web"),
    ("Ada", "  ", "a@b.example", "web"),
    ("Ada", "Co", "not-an-email", "web"),
    ("Ada", "Co", "a@b", "web"),
    ("Ada", "Co", "a b@c.example", "web"),
    ("Ada", "Co", "a@b.example", None),
    ("A" * 201, "Co", "a@b.example", "web"),
    ("Ada\x07", "Co", "a@b.example", "web"),
    (42, "Co", "a@b.example", "web"),
])
def test_capture_refuses_malformed_fields(name: object, company: object, email: object,
                                          source: object) -> None:
    with pytest.raises(InvalidInputError):
        Lead.capture(name, company, email, source)


def test_qualify_only_a_new_lead() -> None:
    lead = captured()
    lead.qualify()
    assert lead.status == QUALIFIED
    assert isinstance(lead.pending_events[-1], Lead.Qualified)
    refused(lead, InvalidStateError, lead.qualify)


def test_disqualify_a_new_or_qualified_lead_with_a_reason() -> None:
    fresh, qualified = captured(), captured()
    qualified.qualify()
    for lead in (fresh, qualified):
        lead.disqualify("no budget")
        assert (lead.status, lead.reason) == (DISQUALIFIED, "no budget")
        refused(lead, InvalidStateError, lambda lead=lead: lead.disqualify("again"))
        refused(lead, InvalidStateError, lead.qualify)
        refused(lead, InvalidStateError, lambda lead=lead: lead.convert(uuid.uuid4(),
                                                                        uuid.uuid4()))


def test_disqualify_needs_a_reason() -> None:
    lead = captured()
    refused(lead, InvalidInputError, lambda: lead.disqualify(""))
    refused(lead, InvalidInputError, lambda: lead.disqualify("x" * 2001))


def test_convert_records_the_customer_and_opportunity_once() -> None:
    lead = captured()
    customer, opportunity = uuid.uuid4(), uuid.uuid4()
    lead.check_convertible()
    lead.convert(customer, opportunity)
    assert (lead.status, lead.customer_id, lead.opportunity_id) == (
        CONVERTED, customer, opportunity)
    refused(lead, InvalidStateError, lead.check_convertible)
    refused(lead, InvalidStateError, lambda: lead.convert(uuid.uuid4(), uuid.uuid4()))
    refused(lead, InvalidStateError, lambda: lead.disqualify("too late"))
    refused(lead, InvalidStateError, lead.qualify)


def test_a_qualified_lead_converts_and_replays() -> None:
    lead = captured()
    lead.qualify()
    lead.convert(uuid.uuid4(), uuid.uuid4())
    state = (lead.status, lead.customer_id, lead.opportunity_id, lead.email)
    rebuilt = replayed(lead)
    assert (rebuilt.status, rebuilt.customer_id, rebuilt.opportunity_id, rebuilt.email) == state
    assert rebuilt.version == 3
