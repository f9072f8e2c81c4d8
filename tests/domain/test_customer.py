"""Customer: the bill-to party, registered directly or from a lead."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from o2c.domain.customer import DEFAULT_PAYMENT_TERMS_DAYS, Customer
from o2c.domain.errors import InvalidAmountError, InvalidInputError


def test_register_with_defaults() -> None:
    customer = Customer.register(" Apex Ltd ", "AP@Apex.Example")
    assert (customer.name, customer.email, customer.credit_limit, customer.payment_terms_days,
            customer.lead_id) == ("Apex Ltd", "ap@apex.example", None,
                                  DEFAULT_PAYMENT_TERMS_DAYS, None)
    assert [type(e) for e in customer.pending_events] == [Customer.Registered]


def test_register_from_a_lead_with_terms_and_a_credit_limit() -> None:
    lead = uuid.uuid4()
    customer = Customer.register("Apex", "ap@apex.example", credit_limit="5000",
                                 payment_terms_days=45, lead_id=lead)
    assert (customer.credit_limit, customer.payment_terms_days, customer.lead_id) == (
        Decimal("5000.00"), 45, lead)
    assert Customer.register("Apex", "ap@apex.example", credit_limit="0").credit_limit == 0
    assert Customer.register("Yen", "y@y.example", credit_limit="100",
                             places=0).credit_limit == 100


@pytest.mark.parametrize("limit", ["-1", "NaN", "Infinity", "10.001", 10.5, "1e400"])
def test_a_bad_credit_limit_is_refused(limit: object) -> None:
    with pytest.raises(InvalidAmountError):
        Customer.register("Apex", "ap@apex.example", credit_limit=limit)


@pytest.mark.parametrize("terms", [-1, 3651, "30", 30.0, True, None])
def test_payment_terms_are_whole_days_up_to_ten_years(terms: object) -> None:
    with pytest.raises(InvalidInputError):
        Customer.register("Apex", "ap@apex.example", payment_terms_days=terms)


@pytest.mark.parametrize(("name", "email"), [("", "a@b.example"), ("Apex", "apex"),
                                             ("Apex", None), (None, "a@b.example")])
def test_name_and_email_are_checked(name: object, email: object) -> None:
    with pytest.raises(InvalidInputError):
        Customer.register(name, email)
