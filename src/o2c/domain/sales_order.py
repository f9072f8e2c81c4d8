"""SalesOrder: what a customer ordered, and what was shipped, invoiced and paid.

The order owns the per-line counts that keep ``invoiced <= shipped <=
ordered``; stock movements live on the StockItem aggregates and postings on
JournalEntry aggregates, saved in the same atomic write by the application.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import money, values
from o2c.domain import returns as return_rules
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import (
    InvalidAmountError,
    InvalidInputError,
    InvalidStateError,
    LimitExceededError,
    NotFoundError,
    NothingToInvoiceError,
    OverShipmentError,
    UnknownReferenceError,
)
from o2c.domain.money import ZERO, quantize
from o2c.domain.stock_item import MAX_DOCUMENT_LINES, check_sku, check_sku_lines

MAX_LINES = MAX_DOCUMENT_LINES
Line = dict[str, Any]
#: Places of a discount in percent (``12.5`` or ``12.25``, not ``12.125``).
PERCENT_PLACES = 2
HUNDRED = Decimal(100)

PLACED, CONFIRMED = "placed", "confirmed"
PARTIALLY_SHIPPED, SHIPPED = "partially_shipped", "shipped"
INVOICED, PAID, CANCELLED = "invoiced", "paid", "cancelled"


def discount_percent(value: object, what: str = "discount_percent") -> Decimal:
    """A discount in percent: from 0 to 100 with at most two decimal places (``"12.50"``);
    None is no discount."""
    if value is None:
        return ZERO
    percent = money.money(value, places=PERCENT_PLACES, what=what, allow_zero=True)
    if percent > HUNDRED:
        raise InvalidAmountError(f"{what} must be from 0 to 100 (percent), not {percent}")
    return ZERO if percent == ZERO else percent


def check_order_lines(lines: Iterable[Mapping[str, object]], places: int) -> list[Line]:
    """Order lines: distinct SKUs, positive quantities, prices in the currency's unit, and
    each line's total (quantity x unit price) within ``money.MAX_AMOUNT``. A line's
    ``discount_percent`` (0 to 100, two places) is kept only when it is not zero, so an
    undiscounted line is stored as it always was."""
    checked: list[Line] = []
    seen: set[str] = set()
    for number, item in enumerate(lines, start=1):
        if number > MAX_LINES:
            raise InvalidInputError(f"an order has at most {MAX_LINES} lines")
        line = values.mapping(item, f"line {number}")
        sku = check_sku(line.get("sku"))
        if sku in seen:
            raise InvalidInputError(f"line {number}: SKU {sku} appears twice; combine the lines")
        seen.add(sku)
        quantity = money.quantity(line.get("quantity"), what=f"line {number} quantity")
        unit_price = money.money(line.get("unit_price"), places=places,
                                 what=f"line {number} unit_price", allow_zero=True)
        # Exact: at most 13 digits times 16 (the limits), within the context's 28.
        money.check_amount(quantity * unit_price,
                           f"line {number} total (quantity x unit_price)")
        checked_line: Line = {"sku": sku, "quantity": quantity, "unit_price": unit_price}
        discount = discount_percent(line.get("discount_percent"),
                                    f"line {number} discount_percent")
        if discount:
            checked_line["discount_percent"] = discount
        checked.append(checked_line)
    if not checked:
        raise InvalidInputError("an order needs at least one line")
    return checked


@dataclass(frozen=True)
class Shipment:
    """A shipment an order accepted (``SalesOrder.plan_shipment``): distinct SKUs, each
    within what is left to ship of that order at that version."""

    order_id: UUID
    order_version: int
    lines: tuple[tuple[str, Decimal], ...]  # (sku, quantity)

    @property
    def skus(self) -> list[str]:
        """The SKUs shipped, in the order given."""
        return [sku for sku, _ in self.lines]


@dataclass(frozen=True)
class IssuedInvoice:
    """What an invoice charged: its number, net, tax and total, and when it is due;
    ``gross`` before discounts and ``discount`` (gross - net)."""

    invoice_number: str
    net: Decimal
    tax: Decimal
    total: Decimal
    issued_on: date
    due_on: date
    gross: Decimal | None = None
    discount: Decimal | None = None


@dataclass(frozen=True)
class Payment:
    """What a payment did: ``amount`` received, ``allocations`` (invoice number and
    amount) settled on this order, and ``unapplied``, what is left for the customer's
    credit."""

    amount: Decimal
    allocations: list[Line]
    unapplied: Decimal

    @property
    def applied(self) -> Decimal:
        """What the payment settled on this order's invoices."""
        return sum((a["amount"] for a in self.allocations), ZERO)


@dataclass(frozen=True)
class CreditNote:
    """A credit note: the invoice it cancels and the amounts it takes back."""

    credit_note_number: str
    invoice_number: str
    net: Decimal
    tax: Decimal
    total: Decimal


def check_shipment_lines(lines: Iterable[Mapping[str, object]]) -> list[Line]:
    """Shipment lines: distinct SKUs with positive quantities."""
    return check_sku_lines(lines, "a shipment")


class Totals(NamedTuple):
    """What lines come to: net (after discounts), tax on the net, and both together;
    ``gross`` (before discounts) and ``discount`` (gross - net)."""

    net: Decimal
    tax: Decimal
    total: Decimal
    gross: Decimal = ZERO
    discount: Decimal = ZERO


class LineAmounts(NamedTuple):
    """One line's figures: gross (quantity x unit price), its discount, and net."""

    gross: Decimal
    discount: Decimal
    net: Decimal


def line_amounts(line: Mapping[str, Any], places: int,
                 quantity: Decimal | None = None) -> LineAmounts:
    """A line's gross ``quantize(q x p)`` and net ``quantize(q x p x (1 - d/100))`` (d its
    ``discount_percent``, 0 when absent), each rounded once, half to even, from the exact
    product; its discount is gross - net. ``quantity`` overrides the line's (an invoice
    of part of it)."""
    amount = (line["quantity"] if quantity is None else quantity) * line["unit_price"]
    percent = line.get("discount_percent") or ZERO
    gross = quantize(amount, places)
    net = quantize(amount * (HUNDRED - percent) / HUNDRED, places) if percent else gross
    return LineAmounts(gross, gross - net, net)


def order_totals(lines: Iterable[Mapping[str, Any]], tax_rate: Decimal, places: int,
                 discount: Decimal | None = None) -> Totals:
    """What lines of quantity, unit price and optional ``discount_percent`` come to, with
    an order ``discount`` in percent on their sum. The aggregate (orders and invoices)
    and the read models all count an order's value here, so it is one rule:

    - each line's gross and net: ``line_amounts`` (rounded per line);
    - the lines' nets summed, exactly: S;
    - the order's net: ``quantize(S x (1 - D/100))`` (D the order discount), rounded
      once half to even; S itself when D is 0;
    - gross: the sum of line grosses; discount: gross - net (line and order
      discounts together);
    - tax: ``quantize(net x tax_rate)``; total: net + tax.

    Every step is exact before its one rounding (the factors have at most four places
    and the products stay far inside the 28 digits of the decimal context, the line's
    gross being within ``MAX_AMOUNT``)."""
    gross = subtotal = ZERO
    for line in lines:
        figures = line_amounts(line, places)
        gross += figures.gross
        subtotal += figures.net
    percent = discount or ZERO
    net = quantize(subtotal * (HUNDRED - percent) / HUNDRED, places) if percent else subtotal
    tax = quantize(net * tax_rate, places)
    return Totals(net, tax, net + tax, gross, gross - net)


def check_totals(totals: Totals, what: str, *,
                 error: type[Exception] = InvalidAmountError) -> Totals:
    """Refuses totals whose gross or total with tax is beyond ``money.MAX_AMOUNT`` (net,
    discount and tax are at most these); returns them otherwise."""
    money.check_amount(totals.total, f"{what} total with tax", error=error)
    money.check_amount(totals.gross, f"{what} gross (before discounts)", error=error)
    return totals


def order_status(*, cancelled: bool, confirmed: bool, any_shipped: bool, fully_shipped: bool,
                 fully_invoiced: bool, settled: bool) -> str:
    """Where an order is, from what happened to it: placed, confirmed, partially_shipped,
    shipped, invoiced, paid, or cancelled. ``fully_invoiced``: everything shipped is
    invoiced; ``settled``: nothing invoiced is open. The aggregate and the read models
    both ask this."""
    if cancelled:
        return CANCELLED
    if not confirmed:
        return PLACED
    if not any_shipped:
        return CONFIRMED
    if not fully_shipped:
        return PARTIALLY_SHIPPED
    if not fully_invoiced:
        return SHIPPED
    return PAID if settled else INVOICED


class SalesOrder(O2CAggregate):
    """A customer's order: placed, confirmed, shipped, invoiced and paid, or cancelled."""

    class Placed(Aggregate.Created):
        """An order was placed (directly, or by winning an opportunity). Its lines may
        carry ``discount_percent``; ``discount_percent`` here is the order's discount on
        the lines' sum (version 1 events had none: upcast to 0)."""

        class_version = 2
        customer_id: UUID
        opportunity_id: UUID | None
        lines: list[Line]
        currency: str
        tax_rate: Decimal
        payment_terms_days: int
        discount_percent: Decimal

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Orders placed before discounts existed had none."""
            state["discount_percent"] = ZERO

    class Confirmed(Aggregate.Event):
        """Stock for every line was reserved; the order will be fulfilled."""

        class_version = 1

    class Shipped(Aggregate.Event):
        """Goods left the warehouse: ``lines`` of SKU, quantity and FIFO cost."""

        class_version = 1
        shipment_no: int
        lines: list[Line]
        cost: Decimal
        shipped_on: date

    class Invoiced(Aggregate.Event):
        """An invoice was issued for what was shipped and not yet invoiced: ``gross``
        before discounts, ``discount``, ``net`` (gross - discount: the revenue), ``tax``
        and ``total`` (version 1 events had no discounts: gross is their net)."""

        class_version = 2
        invoice_number: str
        lines: list[Line]
        net: Decimal
        tax: Decimal
        total: Decimal
        issued_on: date
        due_on: date
        gross: Decimal
        discount: Decimal

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Invoices issued before discounts: gross is the net, nothing discounted."""
            state["gross"] = state["net"]
            state["discount"] = state["net"] - state["net"]  # zero at the net's places

    class PaymentReceived(Aggregate.Event):
        """The customer paid; ``allocations`` apply it to the oldest open invoices."""

        class_version = 1
        amount: Decimal
        reference: str
        received_on: date
        allocations: list[Line]

    class CreditAllocated(Aggregate.Event):
        """The customer's unapplied credit (from an earlier overpayment) settled part or
        all of an invoice; no posting: both sides are Receivable."""

        class_version = 1
        invoice_number: str
        amount: Decimal
        allocated_on: date

    class InvoiceCredited(Aggregate.Event):
        """An unpaid invoice was reversed by a credit note; its goods await a new invoice."""

        class_version = 1
        invoice_number: str
        credit_note_number: str
        lines: list[Line]
        net: Decimal
        tax: Decimal
        total: Decimal
        credited_on: date
        reason: str

    class Cancelled(Aggregate.Event):
        """The order was cancelled before anything shipped; reservations released."""

        class_version = 1
        reason: str

    class Returned(Aggregate.Event):
        """The customer sent invoiced goods back (``o2c.domain.returns``): ``lines`` of
        SKU, quantity, ``damaged`` and the ``cost`` they come back at (taken from this
        order's most recent shipments of the SKU); credit note ``credit_note_number``
        credits ``net`` and ``tax`` (``total``), shared over the invoices the goods were
        on (``credits``: invoice number, goods, net, tax, total and what it ``applied``
        to the invoice's open amount); ``unapplied``, what no open amount took, became
        the customer's credit. Sound goods go back into stock at ``restocked_cost``;
        damaged ones are written off at ``damaged_cost``."""

        class_version = 1
        return_no: int
        lines: list[Line]
        restocked_cost: Decimal
        damaged_cost: Decimal
        credit_note_number: str
        credits: list[Line]
        net: Decimal
        tax: Decimal
        total: Decimal
        unapplied: Decimal
        returned_on: date
        reason: str

    class ReturnAuthorised(Aggregate.Event):
        """A return of invoiced goods was authorised (an RMA, ``rma_number``): ``lines``
        of SKU and quantity the customer may send back. Moves no goods and no money."""

        class_version = 1
        rma_number: str
        lines: list[Line]
        reason: str
        authorised_on: date

    class ReturnAuthorisationCancelled(Aggregate.Event):
        """An RMA not fully received was cancelled: what it still authorised lapses."""

        class_version = 1
        rma_number: str
        reason: str
        cancelled_on: date

    class AuthorisedReturnReceived(Aggregate.Event):
        """Return ``return_no`` (the ``Returned`` event right after this one, in the same
        write) received ``lines`` (SKU, quantity) against RMA ``rma_number``, lowering what
        it still authorises."""

        class_version = 1
        rma_number: str
        return_no: int
        lines: list[Line]

    @event(Placed)
    def __init__(self, customer_id: UUID, opportunity_id: UUID | None, lines: list[Line],
                 currency: str, tax_rate: Decimal, payment_terms_days: int,
                 discount_percent: Decimal) -> None:
        self.customer_id = customer_id
        self.order_discount_percent = discount_percent
        self.opportunity_id = opportunity_id
        self.lines = lines
        self.currency = currency
        self.tax_rate = tax_rate
        self.payment_terms_days = payment_terms_days
        self.confirmed = False
        self.cancelled = False
        self.cancel_reason = ""
        self.shipped: dict[str, Decimal] = {line["sku"]: ZERO for line in lines}
        self.invoiced: dict[str, Decimal] = {line["sku"]: ZERO for line in lines}
        self.shipments = 0
        self.last_shipped_on: date | None = None
        self.cost = ZERO
        self.invoices: list[dict[str, Any]] = []
        self.paid = quantize(ZERO, money.minor_units(currency))  # "0.00", not "0"

    @classmethod
    def place(cls, customer_id: UUID, lines: Iterable[Mapping[str, object]], *,
              currency: str, tax_rate: object, payment_terms_days: int,
              opportunity_id: UUID | None = None, discount: object = None) -> SalesOrder:
        """Places an order after checking its lines, its order ``discount`` (percent)
        and its gross and total with tax."""
        places = money.minor_units(currency)
        checked, rate = check_order_lines(lines, places), money.rate(tax_rate)
        percent = discount_percent(discount)
        check_totals(order_totals(checked, rate, places, percent), "the order's")
        return cls(
            customer_id=customer_id, opportunity_id=opportunity_id, lines=checked,
            currency=currency, tax_rate=rate,
            payment_terms_days=values.whole_days(payment_terms_days, "payment_terms_days"),
            discount_percent=percent,
        )

    # Derived state --------------------------------------------------------------

    @property
    def places(self) -> int:
        """Decimal places of the order's currency."""
        return money.minor_units(self.currency)

    @property
    def number(self) -> str:
        """A short human reference, e.g. ``SO-3F2A9C0D11B4``."""
        return "SO-" + self.id.hex[:12].upper()

    @property
    def discount_percent(self) -> Decimal:
        """The order's discount on its lines' sum, in percent (0 for an order placed, or
        a snapshot taken, before discounts)."""
        found: Decimal = self.__dict__.get("order_discount_percent", ZERO)
        return found

    @property
    def totals(self) -> Totals:
        """The whole order's gross, discount, net, tax and total."""
        return order_totals(self.lines, self.tax_rate, self.places, self.discount_percent)

    @property
    def total(self) -> Decimal:
        """Net value of the whole order (after discounts), before tax."""
        return self.totals.net

    @property
    def invoiced_total(self) -> Decimal:
        """Everything invoiced, tax included."""
        return sum((invoice["total"] for invoice in self.invoices if not invoice["credited"]),
                   ZERO)

    @property
    def open_balance(self) -> Decimal:
        """Invoiced and not yet paid (credited invoices are closed)."""
        return self.invoiced_total - self.paid

    @property
    def fully_shipped(self) -> bool:
        """Every line shipped in full."""
        return all(self.shipped[line["sku"]] == line["quantity"] for line in self.lines)

    @property
    def status(self) -> str:
        """Where the order is: placed, confirmed, partially_shipped, shipped, invoiced, paid."""
        return order_status(
            cancelled=self.cancelled, confirmed=self.confirmed,
            any_shipped=any(self.shipped.values()), fully_shipped=self.fully_shipped,
            fully_invoiced=all(self.invoiced[sku] == qty for sku, qty in self.shipped.items()),
            settled=self.open_balance == ZERO)

    @property
    def latest_shipment(self) -> date | None:
        """The date of the latest shipment (None before any; an order restored from a
        snapshot older than this field counts as having none)."""
        found: date | None = self.__dict__.get("last_shipped_on")
        return found

    def open_invoices(self) -> list[Invoice]:
        """Invoices not credited and not fully paid, oldest due first (then by issue
        date, then as issued)."""
        return sorted((i for i in self.invoices
                       if not i["credited"] and i["total"] > i["paid"]),
                      key=lambda i: (i["due_on"], i["issued_on"]))

    def line(self, sku: str) -> Line:
        """The order line for a SKU."""
        for line in self.lines:
            if line["sku"] == sku:
                return line
        raise InvalidInputError(f"SKU {sku} is not on order {self.number}")

    # Commands -------------------------------------------------------------------

    def check_confirmable(self) -> None:
        """Refuses to confirm unless the order is placed and not cancelled."""
        if self.cancelled or self.confirmed:
            raise InvalidStateError(f"order {self.number} is {self.status}; "
                                    "only a placed order can be confirmed")

    def confirm(self) -> None:
        """Records that stock was reserved for every line."""
        self.check_confirmable()
        self._confirmed()

    @event(Confirmed)
    def _confirmed(self) -> None:
        self.confirmed = True

    def check_shippable(self, lines: list[Line]) -> None:
        """Refuses a shipment of more than is ordered and not yet shipped."""
        if self.cancelled or not self.confirmed:
            raise InvalidStateError(f"order {self.number} is {self.status}; "
                                    "only a confirmed order can ship")
        for line in lines:
            remaining = self.line(line["sku"])["quantity"] - self.shipped[line["sku"]]
            if line["quantity"] > remaining:
                raise OverShipmentError(
                    f"{line['sku']}: {line['quantity']} to ship, but only {remaining} of the "
                    f"order's {self.line(line['sku'])['quantity']} is left to ship")

    def plan_shipment(self, lines: Iterable[Mapping[str, object]]) -> Shipment:
        """Checks shipment lines against this order (refusing bad input, an order that
        cannot ship, more than is left to ship); the shipment to issue stock for."""
        checked = check_shipment_lines(lines)
        self.check_shippable(checked)
        return Shipment(self.id, self.version,
                        tuple((line["sku"], line["quantity"]) for line in checked))

    def ship(self, shipment: Shipment, costs: Mapping[str, Decimal], shipped_on: date) -> None:
        """Records a planned shipment with each SKU's FIFO cost (from its stock item)."""
        if (shipment.order_id, shipment.order_version) != (self.id, self.version):
            raise InvalidStateError(f"order {self.number} changed since the shipment was "
                                    "planned; plan it again")
        lines: list[Line] = [{"sku": sku, "quantity": quantity, "cost": costs[sku]}
                             for sku, quantity in shipment.lines]
        cost = money.check_amount(sum((costs[sku] for sku in shipment.skus), ZERO),
                                  f"the cost of shipment {self.shipments + 1}",
                                  error=LimitExceededError)
        self._shipped(shipment_no=self.shipments + 1, lines=lines, cost=cost,
                      shipped_on=shipped_on)

    @event(Shipped)
    def _shipped(self, shipment_no: int, lines: list[Line], cost: Decimal,
                 shipped_on: date) -> None:
        self.shipments = shipment_no
        self.last_shipped_on = max(shipped_on, self.latest_shipment or shipped_on)
        self.cost += cost
        for line in lines:
            self.shipped[line["sku"]] += line["quantity"]
        self._add_issue_layers(lines)

    def check_invoiceable(self, issued_on: date) -> None:
        """Refuses an invoice of a cancelled order, of nothing uninvoiced, or dated
        before the order's latest shipment."""
        if self.cancelled:
            raise InvalidStateError(f"order {self.number} is cancelled")
        if all(self.shipped[sku] == self.invoiced[sku] for sku in self.shipped):
            raise NothingToInvoiceError(f"order {self.number}: nothing shipped is uninvoiced")
        latest = self.latest_shipment
        if latest is not None and issued_on < latest:
            raise InvalidInputError(f"an invoice dated {issued_on} would precede the order's "
                                    f"latest shipment ({latest}); date it then or later")

    def invoice(self, issued_on: date, number: str) -> IssuedInvoice:
        """Invoices what was shipped and not yet invoiced, with tax, as ``number`` (the
        next number of its series)."""
        self.check_invoiceable(issued_on)
        lines = []
        for line in self.lines:
            quantity = self.shipped[line["sku"]] - self.invoiced[line["sku"]]
            if quantity:
                figures = line_amounts(line, self.places, quantity)
                invoiced: Line = {"sku": line["sku"], "quantity": quantity,
                                  "unit_price": line["unit_price"], "net": figures.net}
                if "discount_percent" in line:  # undiscounted lines stored as before
                    invoiced.update(discount_percent=line["discount_percent"],
                                    gross=figures.gross)
                lines.append(invoiced)
        if not lines:
            raise NothingToInvoiceError(f"order {self.number}: nothing shipped is uninvoiced")
        totals = check_totals(order_totals(lines, self.tax_rate, self.places,
                                           self.discount_percent),
                              "the invoice's", error=LimitExceededError)
        self._invoiced(invoice_number=number, lines=lines, net=totals.net, tax=totals.tax,
                       total=totals.total, issued_on=issued_on,
                       due_on=issued_on + timedelta(days=self.payment_terms_days),
                       gross=totals.gross, discount=totals.discount)
        issued = self.invoices[-1]
        return IssuedInvoice(number, totals.net, totals.tax, totals.total, issued_on,
                             issued["due_on"], totals.gross, totals.discount)

    @event(Invoiced)
    def _invoiced(self, invoice_number: str, lines: list[Line], net: Decimal, tax: Decimal,
                  total: Decimal, issued_on: date, due_on: date, gross: Decimal,
                  discount: Decimal) -> None:
        for line in lines:
            self.invoiced[line["sku"]] += line["quantity"]
        self.invoices.append({"invoice_number": invoice_number, "gross": gross,
                              "discount": discount, "net": net, "tax": tax,
                              "total": total, "paid": quantize(ZERO, self.places),
                              "issued_on": issued_on,
                              "due_on": due_on, "credited": False,
                              "lines": [{"sku": x["sku"], "quantity": x["quantity"]}
                                        for x in lines]})

    def pay(self, amount: object, reference: object, received_on: date,
            invoices: Iterable[object] | None = None) -> Payment:
        """Applies a payment to open invoices: those named, in that order, or else the
        open ones oldest due first. Only invoices issued on or before the payment's date
        are settled by it. What is left is not refused: it is the customer's unapplied
        credit (``Payment.unapplied``), which the caller records on the customer."""
        paid = money.money(amount, places=self.places, what="amount")
        ref = values.text(reference, "reference", optional=True)
        if self.cancelled:
            raise InvalidStateError(f"order {self.number} is cancelled")
        if invoices is None:
            targets = [i for i in self.open_invoices() if i["issued_on"] <= received_on]
        else:
            targets = self._named_invoices(invoices, received_on)
        allocations, left = [], paid
        for invoice in targets:
            share = min(left, invoice["total"] - invoice["paid"])
            if share:
                allocations.append({"invoice_number": invoice["invoice_number"], "amount": share})
                left -= share
        if allocations:
            self._payment_received(amount=paid - left, reference=ref, received_on=received_on,
                                   allocations=allocations)
        return Payment(paid, allocations, left)

    def _named_invoices(self, numbers: Iterable[object], received_on: date) -> list[Invoice]:
        """The invoices a payment names, checked: on this order, each once, open, and
        issued on or before the payment."""
        by_number = {i["invoice_number"]: i for i in self.invoices}
        named: list[Invoice] = []
        for number in numbers:
            invoice = by_number.get(number) if isinstance(number, str) else None
            if invoice is None:
                raise InvalidInputError(f"order {self.number} has no invoice {number!r}")
            if any(i is invoice for i in named):
                raise InvalidInputError(f"invoice {number} is named twice")
            if invoice["credited"]:
                raise InvalidStateError(f"invoice {number} was credited; nothing is open on it")
            if invoice["paid"] >= invoice["total"]:
                raise InvalidStateError(f"invoice {number} is paid in full")
            if invoice["issued_on"] > received_on:
                raise InvalidInputError(f"invoice {number} is dated {invoice['issued_on']}, "
                                        f"after the payment ({received_on})")
            named.append(invoice)
        if not named:
            raise InvalidInputError("invoices, when given, names at least one invoice")
        return named

    @event(PaymentReceived)
    def _payment_received(self, amount: Decimal, reference: str, received_on: date,
                          allocations: list[Line]) -> None:
        self.paid += amount
        by_number = {invoice["invoice_number"]: invoice for invoice in self.invoices}
        for allocation in allocations:
            by_number[allocation["invoice_number"]]["paid"] += allocation["amount"]

    def allocate_credit(self, invoice_number: str, amount: Decimal, allocated_on: date) -> None:
        """Settles ``amount`` of an open invoice with the customer's unapplied credit."""
        invoice = next((i for i in self.invoices if i["invoice_number"] == invoice_number), None)
        if invoice is None or invoice["credited"]:
            raise InvalidStateError(f"order {self.number} has no open invoice {invoice_number}")
        if not ZERO < amount <= invoice["total"] - invoice["paid"]:
            raise InvalidStateError(f"{amount} of credit is more than invoice {invoice_number} "
                                    "has open")
        self._credit_allocated(invoice_number=invoice_number, amount=amount,
                               allocated_on=allocated_on)

    @event(CreditAllocated)
    def _credit_allocated(self, invoice_number: str, amount: Decimal,
                          allocated_on: date) -> None:
        self.paid += amount
        for invoice in self.invoices:
            if invoice["invoice_number"] == invoice_number:
                invoice["paid"] += amount

    def check_creditable(self, invoice_number: object, credited_on: date) -> Invoice:
        """The invoice a credit note would reverse: refused if unknown, credited, paid in
        part, or issued after ``credited_on``."""
        invoice = next((i for i in self.invoices if i["invoice_number"] == invoice_number), None)
        if invoice is None:
            raise InvalidInputError(f"order {self.number} has no invoice {invoice_number!r}")
        if invoice["credited"]:
            raise InvalidStateError(f"invoice {invoice_number} was already credited")
        if invoice["paid"]:
            raise InvalidStateError(f"invoice {invoice_number} is partly paid "
                                    f"({invoice['paid']}); refund before crediting")
        if credited_on < invoice["issued_on"]:
            raise InvalidInputError(f"a credit note dated {credited_on} would precede invoice "
                                    f"{invoice_number} ({invoice['issued_on']})")
        if invoice_number in self.invoice_returns:
            raise InvalidStateError(f"goods on invoice {invoice_number} were returned and "
                                    "credited; it cannot be credited in full")
        return invoice

    def credit(self, invoice_number: object, reason: object, credited_on: date,
               number: str) -> CreditNote:
        """Issues credit note ``number`` (the next of its series) reversing a whole
        unpaid invoice."""
        why = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT)
        invoice = self.check_creditable(invoice_number, credited_on)
        note = CreditNote(number, invoice["invoice_number"], invoice["net"], invoice["tax"],
                          invoice["total"])
        self._invoice_credited(
            invoice_number=note.invoice_number, credit_note_number=note.credit_note_number,
            lines=invoice["lines"], net=note.net, tax=note.tax, total=note.total,
            credited_on=credited_on, reason=why)
        return note

    @event(InvoiceCredited)
    def _invoice_credited(self, invoice_number: str, credit_note_number: str,
                          lines: list[Line], net: Decimal, tax: Decimal, total: Decimal,
                          credited_on: date, reason: str) -> None:
        for invoice in self.invoices:
            if invoice["invoice_number"] == invoice_number:
                invoice["credited"] = True
        for line in lines:
            self.invoiced[line["sku"]] -= line["quantity"]

    def cancel(self, reason: object) -> None:
        """Cancels an order that has not shipped; the caller releases its reservations."""
        why = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT)
        if self.cancelled:
            raise InvalidStateError(f"order {self.number} is already cancelled")
        if any(self.shipped.values()):
            raise InvalidStateError(f"order {self.number} has shipped; it cannot be cancelled")
        self._cancelled(reason=why)

    @event(Cancelled)
    def _cancelled(self, reason: str) -> None:
        self.cancelled = True
        self.cancel_reason = reason

    # Returns (rules in o2c.domain.returns) ----------------------------------------

    @property
    def returned(self) -> dict[str, Decimal]:
        """Per SKU, how much came back (state from before returns existed: none)."""
        found: dict[str, Decimal] = self.__dict__.get("returned_qty", {})
        return {line["sku"]: found.get(line["sku"], ZERO) for line in self.lines}

    @property
    def returns(self) -> list[Line]:
        """Every return: number, date, credit note, goods and figures."""
        found: list[Line] = self.__dict__.get("return_log", [])
        return found

    @property
    def invoice_returns(self) -> dict[str, Any]:
        """Per invoice number, what returns took off it: ``{"lines": {sku: q}, "net",
        "tax"}``."""
        found: dict[str, Any] = self.__dict__.get("returns_by_invoice", {})
        return found

    def issue_layers(self, sku: str) -> list[Line]:
        """The quantity and cost of each shipment of ``sku`` still out with the customer,
        oldest first."""
        found: dict[str, list[Line]] = self.__dict__.get("issue_layers_by_sku", {})
        return found.get(sku, [])

    def _add_issue_layers(self, lines: list[Line]) -> None:
        layers = self.__dict__.setdefault("issue_layers_by_sku", {})
        for line in lines:
            if line["quantity"]:
                layers.setdefault(line["sku"], []).append(
                    {"quantity": line["quantity"], "value": line["cost"]})

    @property
    def authorisations(self) -> list[Line]:
        """Every return authorisation (RMA): number, date, reason, ``lines`` authorised,
        ``received`` per SKU, ``cancelled`` (with its reason and date) and the
        ``returns`` received against it."""
        found: dict[str, Line] = self.__dict__.get("rmas", {})
        return list(found.values())

    def authorisation(self, number: object) -> Line:
        """The RMA ``number`` of this order (NotFoundError if there is none)."""
        found: dict[str, Line] = self.__dict__.get("rmas", {})
        rma = found.get(number) if isinstance(number, str) else None
        if rma is None:
            raise NotFoundError(f"order {self.number} has no return authorisation "
                                f"{str(number)[:40]!r}")
        return rma

    def authorised_outstanding(self) -> dict[str, Decimal]:
        """Per SKU, what open RMAs authorise and has not come back yet."""
        total = {line["sku"]: ZERO for line in self.lines}
        for rma in self.authorisations:
            for sku, quantity in return_rules.rma_outstanding(rma).items():
                total[sku] += quantity
        return total

    def authorise_return(self, lines: Iterable[Mapping[str, object]], authorised_on: date,
                         reason: object) -> str:
        """Authorises a return (an RMA) of invoiced goods not yet returned nor already
        authorised by an open RMA (``over_return``, ``not_invoiced`` otherwise); returns
        its number."""
        checked = return_rules.check_authorisation_lines(lines)
        why = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT)
        latest = self.latest_shipment
        if latest is not None and authorised_on < latest:
            raise InvalidInputError(f"an authorisation dated {authorised_on} would precede "
                                    f"the order's latest shipment ({latest})")
        returned, pending = self.returned, self.authorised_outstanding()
        for line in checked:
            sku, quantity = line["sku"], line["quantity"]
            self.line(sku)
            out = self.shipped[sku] - returned[sku] - pending[sku]
            if quantity > out:
                raise return_rules.OverReturnError(
                    f"{sku}: {quantity} to authorise, but only {out} of the "
                    f"{self.shipped[sku]} shipped on order {self.number} is neither returned "
                    f"nor authorised ({pending[sku]} awaited)")
            billed = self.invoiced[sku] - returned[sku] - pending[sku]
            if quantity > billed:
                raise return_rules.NotInvoicedError(
                    f"{sku}: {quantity} to authorise, but only {billed} on order "
                    f"{self.number} is invoiced and neither returned nor authorised; "
                    "invoice the rest first")
        number = return_rules.rma_number(len(self.authorisations) + 1)
        self._return_authorised(rma_number=number, lines=checked, reason=why,
                                authorised_on=authorised_on)
        return number

    @event(ReturnAuthorised)
    def _return_authorised(self, rma_number: str, lines: list[Line], reason: str,
                           authorised_on: date) -> None:
        self.__dict__.setdefault("rmas", {})[rma_number] = {
            "rma_number": rma_number, "authorised_on": authorised_on, "reason": reason,
            "lines": [{"sku": x["sku"], "quantity": x["quantity"]} for x in lines],
            "received": {}, "returns": [], "cancelled": False, "cancel_reason": "",
            "cancelled_on": None}

    def cancel_return_authorisation(self, number: object, reason: object,
                                    cancelled_on: date) -> None:
        """Cancels an RMA not fully received (nor already cancelled): what it still
        authorises lapses; what came back against it stays returned."""
        rma = self.authorisation(number)
        why = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT)
        status = return_rules.rma_status(rma)
        if status != return_rules.RMA_OPEN:
            raise InvalidStateError(f"{rma['rma_number']} of order {self.number} is {status};"
                                    " only an RMA with goods still to come back may be "
                                    "cancelled")
        if cancelled_on < rma["authorised_on"]:
            raise InvalidInputError(f"a cancellation dated {cancelled_on} would precede the "
                                    f"authorisation ({rma['authorised_on']})")
        self._return_authorisation_cancelled(rma_number=rma["rma_number"], reason=why,
                                             cancelled_on=cancelled_on)

    @event(ReturnAuthorisationCancelled)
    def _return_authorisation_cancelled(self, rma_number: str, reason: str,
                                        cancelled_on: date) -> None:
        rma = self.__dict__["rmas"][rma_number]
        rma.update(cancelled=True, cancel_reason=reason, cancelled_on=cancelled_on)

    @event(AuthorisedReturnReceived)
    def _authorised_return_received(self, rma_number: str, return_no: int,
                                    lines: list[Line]) -> None:
        rma = self.__dict__["rmas"][rma_number]
        for line in lines:
            rma["received"][line["sku"]] = rma["received"].get(line["sku"], ZERO) + line[
                "quantity"]
        rma["returns"].append(return_no)

    def plan_return(self, lines: Iterable[Mapping[str, object]], returned_on: date,
                    reason: object = None,
                    authorisation: object = None) -> return_rules.PlannedReturn:
        """Checks a return against this order (bad input; a line not on the order; more
        than shipped and not yet returned: ``over_return``; goods not yet invoiced:
        ``not_invoiced``; dated before the order's latest shipment) and works out the
        cost each line comes back at and each invoice's share of the credit."""
        checked = return_rules.check_return_lines(lines)
        why = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT, optional=True)
        rma_no: str | None = None
        if authorisation is not None:
            try:
                rma = self.authorisation(authorisation)
            except NotFoundError as exc:  # named in the body, not the address: 422
                raise UnknownReferenceError(exc.message) from None
            return_rules.check_within_authorisation(rma, checked, self.number)
            if returned_on < rma["authorised_on"]:
                raise InvalidInputError(f"a return dated {returned_on} would precede its "
                                        f"authorisation {rma['rma_number']} "
                                        f"({rma['authorised_on']})")
            rma_no = rma["rma_number"]
        latest = self.latest_shipment
        if latest is not None and returned_on < latest:
            raise InvalidInputError(f"a return dated {returned_on} would precede the order's "
                                    f"latest shipment ({latest}); date it then or later")
        returned, by_sku = self.returned, {line["sku"]: line for line in self.lines}
        planned: list[Line] = []
        for line in checked:
            sku, quantity = line["sku"], line["quantity"]
            self.line(sku)
            out = self.shipped[sku] - returned[sku]
            if quantity > out:
                raise return_rules.OverReturnError(
                    f"{sku}: {quantity} to return, but only {out} of the "
                    f"{self.shipped[sku]} shipped on order {self.number} is not yet returned")
            billed = self.invoiced[sku] - returned[sku]
            if quantity > billed:
                raise return_rules.NotInvoicedError(
                    f"{sku}: {quantity} to return, but only {billed} shipped on order "
                    f"{self.number} is invoiced and not yet returned; invoice the rest first")
            layers = self.issue_layers(sku)
            if sum((x["quantity"] for x in layers), ZERO) != out:
                raise InvalidStateError(f"{sku}: the cost of order {self.number}'s shipments "
                                        "is not known (kept only since returns exist)")
            _, cost = return_rules.take_newest(layers, quantity, self.places)
            planned.append({**line, "cost": cost})
        return return_rules.PlannedReturn(self.id, self.version, tuple(planned),
                                     self._return_shares(checked, by_sku), returned_on,
                                     why, self.places, rma_no)

    def _return_shares(self, lines: list[Line],
                       by_sku: dict[str, Line]) -> tuple[return_rules.InvoiceShare, ...]:
        """Takes the returned goods off the invoices not credited in full, newest first."""
        takes: dict[str, dict[str, Decimal]] = {}
        newest_first = [i for i in reversed(self.invoices) if not i["credited"]]
        for line in lines:
            left = line["quantity"]
            for invoice in newest_first:
                done = self.invoice_returns.get(invoice["invoice_number"], {}).get("lines", {})
                on_it = sum((x["quantity"] for x in invoice["lines"]
                             if x["sku"] == line["sku"]), ZERO) - done.get(line["sku"], ZERO)
                take = min(left, on_it)
                if take > ZERO:
                    takes.setdefault(invoice["invoice_number"], {})[line["sku"]] = take
                    left -= take
            if left:
                raise InvalidStateError(f"{line['sku']}: the order's invoices do not carry "
                                        f"{left} of the goods to return")
        by_number = {i["invoice_number"]: i for i in self.invoices}
        return tuple(return_rules.invoice_share(by_number[number], taken,
                                                self.invoice_returns.get(number, {}),
                                                by_sku, self.places)
                     for number, taken in takes.items())

    def record_return(self, planned: return_rules.PlannedReturn,
                      credit_note_number: str) -> None:
        """Records a planned return with its credit note ``credit_note_number`` (the
        next of the credit note series)."""
        if (planned.order_id, planned.order_version) != (self.id, self.version):
            raise InvalidStateError(f"order {self.number} changed since the return was "
                                    "planned; plan it again")
        if planned.authorisation is not None:  # first: the postings cite ``Returned``
            self._authorised_return_received(
                rma_number=planned.authorisation, return_no=len(self.returns) + 1,
                lines=[{"sku": x["sku"], "quantity": x["quantity"]} for x in planned.lines])
        self._returned(
            return_no=len(self.returns) + 1, lines=list(planned.lines),
            restocked_cost=planned.restocked_cost, damaged_cost=planned.damaged_cost,
            credit_note_number=credit_note_number,
            credits=[share.as_line() for share in planned.shares], net=planned.net,
            tax=planned.tax, total=planned.total, unapplied=planned.unapplied,
            returned_on=planned.returned_on, reason=planned.reason)

    @event(Returned)
    def _returned(self, return_no: int, lines: list[Line], restocked_cost: Decimal,
                  damaged_cost: Decimal, credit_note_number: str, credits: list[Line],
                  net: Decimal, tax: Decimal, total: Decimal, unapplied: Decimal,
                  returned_on: date, reason: str) -> None:
        returned = self.__dict__.setdefault("returned_qty", {})
        layers = self.__dict__.setdefault("issue_layers_by_sku", {})
        for line in lines:
            sku = line["sku"]
            returned[sku] = returned.get(sku, ZERO) + line["quantity"]
            layers[sku], cost = return_rules.take_newest(
                layers.get(sku, []), line["quantity"], self.places)
            if cost != line["cost"]:  # the rounding rule changed since it was recorded
                raise AssertionError(f"return replay took {cost}, the event recorded "
                                     f"{line['cost']}")
        by_invoice = self.__dict__.setdefault("returns_by_invoice", {})
        by_number = {invoice["invoice_number"]: invoice for invoice in self.invoices}
        for credit in credits:
            done = by_invoice.setdefault(credit["invoice_number"],
                                         {"lines": {}, "net": ZERO, "tax": ZERO})
            for line in credit["lines"]:
                done["lines"][line["sku"]] = done["lines"].get(line["sku"], ZERO) + line[
                    "quantity"]
            done["net"] += credit["net"]
            done["tax"] += credit["tax"]
            by_number[credit["invoice_number"]]["paid"] += credit["applied"]
            self.paid += credit["applied"]
        self.__dict__.setdefault("return_log", []).append({
            "return_no": return_no, "returned_on": returned_on,
            "credit_note_number": credit_note_number,
            "lines": [{"sku": x["sku"], "quantity": x["quantity"], "damaged": x["damaged"],
                       "cost": x["cost"]} for x in lines],
            "restocked_cost": restocked_cost, "damaged_cost": damaged_cost, "net": net,
            "tax": tax, "total": total, "applied": total - unapplied, "unapplied": unapplied,
            "reason": reason})


Invoice = dict[str, Any]
