"""Credit control: how much a customer owes and has on order (its exposure), whether it
is on credit hold, and the check that refuses to confirm an order past either.

Pure functions over the aggregates (no store): the application loads the customer and
its orders that may still carry exposure and asks ``check_credit`` before it confirms.

- *Open receivables*: the open (not credited, not fully paid) invoices of the
  customer's orders, less its unapplied credit (what the next invoice will use).
- *Unshipped confirmed*: what confirmed, not cancelled orders have still to invoice
  (every line's ordered quantity less its invoiced quantity, at its unit price, with
  tax on their sum): what will become a receivable without any further decision.
  What shipped but is not yet invoiced counts here; once invoiced it counts as a
  receivable instead, never twice.
- *This order*: its whole value with tax.
- *Total exposure*: the three together; refused (``credit_limit_exceeded``) when it
  is more than the limit (exactly at the limit passes). No limit: never refused for it.
- *Credit hold*: an open invoice more than the grace days past its due date refuses
  any confirmation (``credit_hold``), limit or none.

Finance may release one order (``Customer.release_order``): its confirmation then skips
both checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from o2c.domain.customer import Customer
from o2c.domain.errors import DomainError
from o2c.domain.money import ZERO, quantize
from o2c.domain.sales_order import SalesOrder, order_totals

#: Days an invoice may be past due before its customer is on credit hold (default of
#: ``O2C_CREDIT_GRACE_DAYS``): overdue by one day is a hold.
DEFAULT_GRACE_DAYS = 0


class CreditLimitExceededError(DomainError):
    """Confirming the order would take the customer's exposure past its credit limit
    (409 ``credit_limit_exceeded``)."""

    code = "credit_limit_exceeded"


class CreditHoldError(DomainError):
    """The customer has an invoice overdue beyond the grace days (409 ``credit_hold``)."""

    code = "credit_hold"


@dataclass(frozen=True)
class OverdueInvoice:
    """An open invoice past its due date."""

    invoice_number: str
    order_id: str
    due_on: date
    days_overdue: int
    open: Decimal


@dataclass(frozen=True)
class Exposure:
    """What a customer owes and has on confirmed order, before the order being checked."""

    open_invoices: Decimal
    unapplied_credit: Decimal
    unshipped_confirmed: Decimal

    @property
    def open_receivables(self) -> Decimal:
        """Open invoices less unapplied credit."""
        return self.open_invoices - self.unapplied_credit

    @property
    def total(self) -> Decimal:
        """Open receivables plus unshipped confirmed orders."""
        return self.open_receivables + self.unshipped_confirmed


def uninvoiced_total(lines: Iterable[Mapping[str, Any]], invoiced: Mapping[str, Decimal],
                     tax_rate: Decimal, places: int, discount: Decimal | None = None
                     ) -> Decimal:
    """What order ``lines`` (sku, quantity, unit_price, any line discount) have left to
    invoice, with tax, given the quantity ``invoiced`` per SKU (credited invoices not
    counted) and the order's ``discount`` in percent, counted as ``order_totals`` does."""
    left = [{**line, "quantity": line["quantity"] - invoiced.get(line["sku"], ZERO)}
            for line in lines]
    left = [line for line in left if line["quantity"] > ZERO]
    if not left:
        return quantize(ZERO, places)
    total: Decimal = _totals(left, tax_rate, places, discount).total
    return total


def _totals(lines: list[dict[str, Any]], tax_rate: Decimal, places: int,
            discount: Decimal | None) -> Any:
    # An order discount is passed only when there is one: ``order_totals`` takes it as
    # a fourth argument since order discounts exist.
    extra: tuple[Any, ...] = (discount,) if discount else ()
    return order_totals(lines, tax_rate, places, *extra)


def _discount(order: SalesOrder) -> Decimal | None:
    found: Decimal | None = getattr(order, "discount_percent", None)
    return found


def order_uninvoiced(order: SalesOrder) -> Decimal:
    """A confirmed, not cancelled order's value with tax not yet invoiced (zero for any
    other order)."""
    if not order.confirmed or order.cancelled:
        return quantize(ZERO, order.places)
    return uninvoiced_total(order.lines, order.invoiced, order.tax_rate, order.places,
                            _discount(order))


def order_value(order: SalesOrder) -> Decimal:
    """The whole order's value with tax."""
    total: Decimal = _totals(order.lines, order.tax_rate, order.places,
                             _discount(order)).total
    return total


def exposure(customer: Customer, orders: Iterable[SalesOrder], places: int) -> Exposure:
    """The customer's exposure from its ``orders`` (any of them; those that carry none
    add nothing) and its unapplied credit."""
    zero = quantize(ZERO, places)
    open_invoices, unshipped = zero, zero
    for order in orders:
        open_invoices += sum((i["total"] - i["paid"] for i in order.open_invoices()), ZERO)
        unshipped += order_uninvoiced(order)
    return Exposure(open_invoices, customer.credit + zero, unshipped)  # "0.00", not "0"


def overdue_invoices(orders: Iterable[SalesOrder], today: date,
                     grace_days: int) -> list[OverdueInvoice]:
    """Open invoices more than ``grace_days`` past due on ``today``, most overdue first."""
    found = [OverdueInvoice(i["invoice_number"], str(order.id), i["due_on"],
                            (today - i["due_on"]).days, i["total"] - i["paid"])
             for order in orders for i in order.open_invoices()
             if (today - i["due_on"]).days > grace_days]
    return sorted(found, key=lambda o: (-o.days_overdue, o.invoice_number))


def check_credit(customer: Customer, order: SalesOrder, exposure: Exposure,
                 overdue: list[OverdueInvoice], grace_days: int) -> None:
    """Refuses to confirm ``order`` when its customer is on credit hold or the order
    would take its exposure past the credit limit, unless finance released this order."""
    if customer.released(order.id):
        return
    if overdue:
        shown = "; ".join(f"{o.invoice_number} due {o.due_on} is {o.days_overdue} days "
                          f"overdue ({o.open} open)" for o in overdue[:5])
        more = f" and {len(overdue) - 5} more" if len(overdue) > 5 else ""
        raise CreditHoldError(
            f"customer {customer.name} is on credit hold: {shown}{more} (grace "
            f"{grace_days} days); order {order.number} needs a credit release by finance")
    limit = customer.credit_limit
    this_order = order_value(order)
    total = exposure.total + this_order
    if limit is not None and total > limit:
        raise CreditLimitExceededError(
            f"order {order.number} would take customer {customer.name} past its credit "
            f"limit: limit {limit}; open receivables {exposure.open_receivables} (open "
            f"invoices {exposure.open_invoices} less unapplied credit "
            f"{exposure.unapplied_credit}); unshipped confirmed orders "
            f"{exposure.unshipped_confirmed}; this order {this_order} (with tax); total "
            f"exposure {total}, over by {total - limit}. Finance may release the order")
