"""Use cases of the front office: leads, customers and the pipeline of opportunities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from o2c.application.base import UseCaseBase
from o2c.application.orders import effective_date
from o2c.application.pricing import quoted_order
from o2c.application.runner import Attempt, Outcome, Result, command
from o2c.domain import posting_rules
from o2c.domain.customer import DEFAULT_PAYMENT_TERMS_DAYS, Customer
from o2c.domain.lead import Lead
from o2c.domain.opportunity import Opportunity


class CRM(UseCaseBase):
    """Leads, customers and opportunities (sales)."""

    @command("capture_lead")
    def capture_lead(self, run: Attempt, name: object, company: object, email: object,
                     source: object) -> Outcome:
        """Captures a new lead."""
        lead = Lead.capture(name, company, email, source)
        return Result(str(lead.id), lead.version), [lead]

    @command("qualify_lead")
    def qualify_lead(self, run: Attempt, lead_id: object) -> Outcome:
        """Marks a lead as qualified."""
        lead = self._lead(run, lead_id)
        lead.qualify()
        return Result(str(lead.id), lead.version), [lead]

    @command("disqualify_lead")
    def disqualify_lead(self, run: Attempt, lead_id: object, reason: object) -> Outcome:
        """Drops a lead, with the reason."""
        lead = self._lead(run, lead_id)
        lead.disqualify(reason)
        return Result(str(lead.id), lead.version), [lead]

    @command("convert_lead")
    def convert_lead(self, run: Attempt, lead_id: object, opportunity: Mapping[str, object],
                     *, credit_limit: object = None,
                     payment_terms_days: object = DEFAULT_PAYMENT_TERMS_DAYS) -> Outcome:
        """Turns a lead into a customer (its company) and an opening opportunity."""
        lead = self._lead(run, lead_id)
        lead.check_convertible()
        customer = Customer.register(lead.company, lead.email, credit_limit=credit_limit,
                                     payment_terms_days=payment_terms_days,
                                     lead_id=lead.id, places=self.places)
        opp = Opportunity.open(customer.id, opportunity.get("title"),
                               opportunity.get("amount"),
                               opportunity.get("expected_close_date"), lead_id=lead.id,
                               places=self.places)
        lead.convert(customer.id, opp.id)
        return (Result(str(lead.id), lead.version,
                       extra={"customer_id": str(customer.id),
                              "opportunity_id": str(opp.id)}),
                [lead, customer, opp])

    @command("register_customer")
    def register_customer(self, run: Attempt, name: object, email: object, *,
                          credit_limit: object = None,
                          payment_terms_days: object = DEFAULT_PAYMENT_TERMS_DAYS) -> Outcome:
        """Registers a customer directly (not from a lead)."""
        customer = Customer.register(name, email, credit_limit=credit_limit,
                                     payment_terms_days=payment_terms_days,
                                     places=self.places)
        return Result(str(customer.id), customer.version), [customer]

    @command("change_credit_limit", id="customer_id")
    def change_credit_limit(self, run: Attempt, customer_id: object, credit_limit: object,
                            reason: object) -> Outcome:
        """Finance sets a customer's credit limit (None: no limit), with the reason. Holds
        the customer's lock, as confirmations do: a confirmation checks the limit before
        or after the change, never half-way."""
        customer = self.customer(customer_id)
        run.hold([customer.id], always=True)
        customer = self.customer(customer_id)  # read again under the lock
        run.check_version(customer)
        customer.change_credit_limit(credit_limit, reason, self.places)
        limit = customer.credit_limit
        return (Result(str(customer.id), customer.version,
                       extra={"credit_limit": None if limit is None else str(limit)}),
                [customer])

    @command("refund_customer_credit", id="customer_id")
    def refund_customer_credit(self, run: Attempt, customer_id: object, amount: object,
                               reference: object = None, date: object = None) -> Outcome:
        """Pays back a customer's unapplied credit on ``date``: Dr Receivable, Cr Cash;
        refused beyond the credit (``insufficient_credit``)."""
        customer = self.customer(customer_id)
        run.check_version(customer)
        when = effective_date(self.books, run, date)
        paid = customer.refund(amount, reference, when, self.places)
        entry = self.books.caused_by(posting_rules.credit_refunded(paid), when=when,
                                     memo=f"Refund of credit to {customer.name}",
                                     source=customer)
        return (Result(str(customer.id), customer.version,
                       extra={"amount": str(paid), "credit": str(customer.credit),
                              "date": when.isoformat()}),
                [customer, *entry])

    @command("open_opportunity")
    def open_opportunity(self, run: Attempt, customer_id: object, title: object,
                         amount: object, expected_close_date: object) -> Outcome:
        """Opens a deal for an existing customer."""
        customer = self.get(Customer, str(customer_id), "customer", reference=True)
        opp = Opportunity.open(customer.id, title, amount, expected_close_date,
                               places=self.places)
        return Result(str(opp.id), opp.version), [opp]

    @command("change_stage", id="opportunity_id")
    def change_stage(self, run: Attempt, opportunity_id: object, stage: object) -> Outcome:
        """Moves a deal to another open pipeline stage."""
        opp = self._opportunity(run, opportunity_id)
        opp.move_to(stage)
        return Result(str(opp.id), opp.version), [opp]

    @command("win_opportunity", id="opportunity_id", added=("discount_percent",))
    def win_opportunity(self, run: Attempt, opportunity_id: object,
                        lines: Sequence[Mapping[str, object]] | None = None,
                        discount_percent: object = None) -> Outcome:
        """Closes a deal as won and hands it to the ERP as a sales order: of ``lines``
        (priced as orders are) with ``discount_percent``, or without lines of the latest
        quote, at its prices and discounts."""
        opp = self._opportunity(run, opportunity_id)
        opp.check_winnable()
        customer = self.get(Customer, opp.customer_id, "customer")
        if lines is None:
            lines, discount_percent = quoted_order(opp, discount_percent)
        order = self.new_order(customer, lines, opportunity_id=opp.id,
                               discount=discount_percent, day=run.business_date())
        opp.win(order.id)
        return (Result(str(opp.id), opp.version, extra={"order_id": str(order.id)}),
                [opp, order])

    @command("lose_opportunity", id="opportunity_id")
    def lose_opportunity(self, run: Attempt, opportunity_id: object,
                         reason: object) -> Outcome:
        """Closes a deal as lost."""
        opp = self._opportunity(run, opportunity_id)
        opp.lose(reason)
        return Result(str(opp.id), opp.version), [opp]

    def _lead(self, run: Attempt, lead_id: object) -> Lead:
        lead = self.lead(lead_id)
        run.check_version(lead)
        return lead

    def _opportunity(self, run: Attempt, opportunity_id: object) -> Opportunity:
        opp = self.opportunity(opportunity_id)
        run.check_version(opp)
        return opp

    def lead(self, lead_id: object) -> Lead:
        """A lead by id."""
        return self.get(Lead, str(lead_id), "lead")

    def customer(self, customer_id: object) -> Customer:
        """A customer by id."""
        return self.get(Customer, str(customer_id), "customer")

    def opportunity(self, opportunity_id: object) -> Opportunity:
        """An opportunity by id."""
        return self.get(Opportunity, str(opportunity_id), "opportunity")
