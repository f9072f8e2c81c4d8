"""Returns of shipped goods: which goods may come back, at what cost, for what credit.

A return is recorded on its ``SalesOrder`` (``SalesOrder.Returned``); this module holds
its pure rules, so the aggregate only decides and assigns:

- **What may be returned.** Goods invoiced and not yet returned: per line
  ``returned <= invoiced <= shipped <= ordered``. More than was shipped and not yet
  returned is ``over_return``; goods shipped but not yet invoiced are ``not_invoiced``
  (invoice them first: the return then credits them).
- **At what cost.** Each shipment recorded the FIFO cost of each SKU it issued
  (``SalesOrder.Shipped`` lines' ``cost``). Those are the order's *issue layers* per
  SKU; a return takes from the most recent shipments first (``take_newest``): a whole
  layer at its value, part of one pro rata, rounded half to even to the currency's
  places, the rest left in the layer. So what comes back never exceeds what left for
  this order, and returning everything gives back exactly the COGS posted.
- **For what credit.** The returned goods are taken off the order's invoices (not
  credited in full by a credit note), newest first. Each invoice's share of the credit
  is its net and tax not yet credited by returns, pro rata to the discounted line
  values taken (``quantity x unit_price x (1 - discount%)``), rounded half to even;
  returning the last of an invoice's goods credits exactly what is left of its net and
  tax. Each invoice's share settles what is open on that invoice; what it cannot
  settle (the invoice was paid) is the customer's unapplied credit.
- **Authorisations (RMAs).** Before goods come back, an order may authorise their
  return (``SalesOrder.ReturnAuthorised``, numbered ``RMA-<n>`` per order): no more than
  may still be returned less what open RMAs already authorised and is not yet received.
  A return received against an RMA (``authorisation``) stays within that RMA's
  outstanding quantities (``not_authorised`` otherwise) and lowers them
  (``SalesOrder.AuthorisedReturnReceived``); an RMA not fully received may be
  cancelled. Authorising moves no goods and no money: no postings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from o2c.domain.errors import DomainError, InvalidInputError
from o2c.domain.money import ZERO, quantize
from o2c.domain.stock_item import MAX_DOCUMENT_LINES, check_sku_lines

MAX_LINES = MAX_DOCUMENT_LINES
HUNDRED = Decimal(100)
Line = dict[str, Any]
#: An issue layer: ``{"quantity": q, "value": v}`` of one shipment of one SKU.
Layer = dict[str, Decimal]


class OverReturnError(DomainError):
    """A return of more of a line than was shipped and not yet returned (409
    ``over_return``)."""

    code = "over_return"


class NotInvoicedError(DomainError):
    """A return of goods shipped but not yet invoiced (409 ``not_invoiced``): invoice
    them first, then the return credits them."""

    code = "not_invoiced"


class NotAuthorisedError(DomainError):
    """Goods received against a return authorisation (RMA) beyond what it still
    authorises, or against an RMA cancelled or fully received (409 ``not_authorised``)."""

    code = "not_authorised"


#: An RMA's state: ``open`` (something still to come back), ``received`` or ``cancelled``.
RMA_OPEN, RMA_RECEIVED, RMA_CANCELLED = "open", "received", "cancelled"


def rma_number(n: int) -> str:
    """The ``n``-th return authorisation of an order: ``RMA-<n>``."""
    return f"RMA-{n}"


def check_authorisation_lines(lines: Iterable[Mapping[str, object]]) -> list[Line]:
    """Lines of a return authorisation: distinct SKUs and positive quantities."""
    return check_sku_lines(lines, "a return authorisation")


def rma_outstanding(rma: Mapping[str, Any]) -> dict[str, Decimal]:
    """Per SKU, what an RMA still authorises: authorised - received, none once cancelled."""
    if rma["cancelled"]:
        return {}
    received: Mapping[str, Decimal] = rma["received"]
    return {line["sku"]: line["quantity"] - received.get(line["sku"], ZERO)
            for line in rma["lines"]
            if line["quantity"] - received.get(line["sku"], ZERO) > ZERO}


def rma_status(rma: Mapping[str, Any]) -> str:
    """``cancelled``, ``received`` (nothing outstanding) or ``open``."""
    if rma["cancelled"]:
        return RMA_CANCELLED
    return RMA_OPEN if rma_outstanding(rma) else RMA_RECEIVED


def rma_view(rma: Mapping[str, Any]) -> Line:
    """An RMA as read (the API's ``GET .../returns``, the returns page): number, date,
    reason, status, per SKU ``authorised``, ``received`` and ``outstanding``, the returns
    received against it, and its cancellation."""
    outstanding = rma_outstanding(rma)
    return {"rma_number": rma["rma_number"], "authorised_on": rma["authorised_on"],
            "reason": rma["reason"], "status": rma_status(rma),
            "lines": [{"sku": line["sku"], "authorised": line["quantity"],
                       "received": rma["received"].get(line["sku"], ZERO),
                       "outstanding": outstanding.get(line["sku"], ZERO)}
                      for line in rma["lines"]],
            "returns": list(rma["returns"]), "cancelled_on": rma["cancelled_on"],
            "cancel_reason": rma["cancel_reason"]}


def check_within_authorisation(rma: Mapping[str, Any], lines: Iterable[Mapping[str, Any]],
                               order_number: str) -> None:
    """Refuses (``not_authorised``) goods beyond what ``rma`` still authorises."""
    number, status = rma["rma_number"], rma_status(rma)
    if status != RMA_OPEN:
        raise NotAuthorisedError(f"{number} of order {order_number} is {status}; "
                                 "nothing more may be received against it")
    outstanding = rma_outstanding(rma)
    for line in lines:
        left = outstanding.get(line["sku"], ZERO)
        if line["quantity"] > left:
            raise NotAuthorisedError(f"{line['sku']}: {line['quantity']} received against "
                                     f"{number}, which authorises only {left} more")


def check_return_lines(lines: Iterable[Mapping[str, object]]) -> list[Line]:
    """Return lines: distinct SKUs, positive quantities, ``damaged`` true or false
    (false when left out)."""
    def damaged(number: int, line: dict[str, object]) -> dict[str, Any]:
        flag = line.get("damaged", False)
        if flag is None:
            flag = False
        if not isinstance(flag, bool):
            raise InvalidInputError(f"line {number}: damaged must be true or false")
        return {"damaged": flag}

    return check_sku_lines(lines, "a return", more=damaged,
                           twice="; return the damaged and the sound goods of a SKU "
                                 "separately")


def take_newest(layers: list[Layer], quantity: Decimal,
                places: int) -> tuple[list[Layer], Decimal]:
    """Takes ``quantity`` from the newest layers first (the last of the list); returns
    the layers left (oldest first) and the value taken. A whole layer is taken at its
    value; part of one pro rata, rounded half to even, never more than the layer holds."""
    left, taken, kept = quantity, ZERO, list(layers)
    while left > ZERO:
        if not kept:
            raise AssertionError(f"{quantity} to take but only {quantity - left} in the layers")
        layer = kept.pop()
        if layer["quantity"] <= left:
            left -= layer["quantity"]
            taken += layer["value"]
            continue
        part = min(quantize(layer["value"] * left / layer["quantity"], places), layer["value"])
        kept.append({"quantity": layer["quantity"] - left, "value": layer["value"] - part})
        taken += part
        left = ZERO
    return kept, taken


def line_weight(line: Mapping[str, Any], quantity: Decimal) -> Decimal:
    """What ``quantity`` of an order line weighs in its invoice's net: quantity x unit
    price x (1 - its discount in percent / 100), exact (a key for sharing, never posted)."""
    percent: Decimal = line.get("discount_percent") or ZERO
    price: Decimal = line["unit_price"]
    return quantity * price * (HUNDRED - percent) / HUNDRED


@dataclass(frozen=True)
class InvoiceShare:
    """What a return takes off one invoice: goods ``lines`` (SKU, quantity), ``net``
    and ``tax`` credited, ``applied`` to what is open on it, the rest ``unapplied``."""

    invoice_number: str
    lines: tuple[tuple[str, Decimal], ...]
    net: Decimal
    tax: Decimal
    applied: Decimal

    @property
    def total(self) -> Decimal:
        """Net and tax credited."""
        return self.net + self.tax

    @property
    def unapplied(self) -> Decimal:
        """What the invoice had no open amount for: the customer's credit."""
        return self.total - self.applied

    def as_line(self) -> Line:
        """As stored on ``SalesOrder.Returned``."""
        return {"invoice_number": self.invoice_number,
                "lines": [{"sku": sku, "quantity": q} for sku, q in self.lines],
                "net": self.net, "tax": self.tax, "total": self.total,
                "applied": self.applied}


def invoice_share(invoice: Mapping[str, Any], taken: Mapping[str, Decimal],
                  already: Mapping[str, Any], lines_by_sku: Mapping[str, Mapping[str, Any]],
                  places: int) -> InvoiceShare:
    """The share of ``invoice`` for goods ``taken`` (SKU -> quantity) off it, given what
    returns ``already`` took (``{"lines": {sku: q}, "net": n, "tax": t}``)."""
    done: Mapping[str, Decimal] = already.get("lines", {})
    net_left = invoice["net"] - already.get("net", ZERO)
    tax_left = invoice["tax"] - already.get("tax", ZERO)
    weight_left = weight_taken = ZERO
    emptied = True
    for line in invoice["lines"]:
        sku = line["sku"]
        remaining = line["quantity"] - done.get(sku, ZERO)
        take = taken.get(sku, ZERO)
        weight_left += line_weight(lines_by_sku[sku], remaining)
        weight_taken += line_weight(lines_by_sku[sku], take)
        emptied = emptied and take == remaining
    if emptied:
        net, tax = net_left, tax_left
    elif weight_left == ZERO:
        net = tax = quantize(ZERO, places)
    else:
        net = min(quantize(net_left * weight_taken / weight_left, places), net_left)
        tax = min(quantize(tax_left * weight_taken / weight_left, places), tax_left)
    applied = min(net + tax, invoice["total"] - invoice["paid"])
    return InvoiceShare(invoice["invoice_number"],
                        tuple((sku, q) for sku, q in taken.items() if q), net, tax,
                        max(applied, quantize(ZERO, places)))


@dataclass(frozen=True)
class PlannedReturn:
    """A return an order accepted (``SalesOrder.plan_return``): each line with the cost
    it comes back at, each invoice's share of the credit, at that order version."""

    order_id: UUID
    order_version: int
    lines: tuple[Line, ...]  # sku, quantity, damaged, cost
    shares: tuple[InvoiceShare, ...]
    returned_on: date
    reason: str
    places: int
    #: The RMA the goods came back against, if any.
    authorisation: str | None = None

    def _sum(self, figures: Iterable[Decimal]) -> Decimal:
        return quantize(sum(figures, ZERO), self.places)

    @property
    def restocked_cost(self) -> Decimal:
        """The cost of the sound goods, back into stock."""
        return self._sum(line["cost"] for line in self.lines if not line["damaged"])

    @property
    def damaged_cost(self) -> Decimal:
        """The cost of the damaged goods, written off to Inventory Adjustments."""
        return self._sum(line["cost"] for line in self.lines if line["damaged"])

    @property
    def net(self) -> Decimal:
        """Revenue credited."""
        return self._sum(share.net for share in self.shares)

    @property
    def tax(self) -> Decimal:
        """Tax credited."""
        return self._sum(share.tax for share in self.shares)

    @property
    def total(self) -> Decimal:
        """The credit note's total."""
        return self.net + self.tax

    @property
    def applied(self) -> Decimal:
        """What the credit settles on the order's open invoices."""
        return self._sum(share.applied for share in self.shares)

    @property
    def unapplied(self) -> Decimal:
        """What is left of the credit: the customer's unapplied credit."""
        return self.total - self.applied

    @property
    def skus(self) -> list[str]:
        """The SKUs returned, in the order given."""
        return [line["sku"] for line in self.lines]
