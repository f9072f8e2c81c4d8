"""Use cases of returns: a customer sends invoiced goods back (warehouse and finance).

One command records the whole return in one write: the order's ``Returned`` event
(the goods, the cost they come back at, the credit note), the sound goods back into
stock (``StockItem.ReturnedToStock``), the credit note's number from its series, the
COGS reversal and the credit note's journal entries, and the part of the credit no
open invoice took as the customer's unapplied credit (``Customer.CreditReceived``,
referenced by the credit note number), which the next invoice uses or a refund pays
back. The rules themselves are in ``o2c.domain.returns``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eventsourcing.domain import Aggregate

from o2c.application.base import UseCaseBase
from o2c.application.orders import effective_date
from o2c.application.runner import Attempt, Outcome, Result, command
from o2c.domain import posting_rules
from o2c.domain.customer import Customer
from o2c.domain.document_series import DocumentSeries
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem


class Returns(UseCaseBase):
    """Returns of shipped, invoiced goods: restocked or written off, and credited."""

    @command("authorise_return", id="order_id")
    def authorise_return(self, run: Attempt, order_id: object,
                         lines: Sequence[Mapping[str, object]], reason: object,
                         date: object = None) -> Outcome:
        """Authorises the return of invoiced goods on ``date`` (the business date by
        default): an RMA numbered ``RMA-<n>`` on the order, for no more than may still be
        returned less what open RMAs await. No goods move and nothing is posted."""
        order = self.get(SalesOrder, str(order_id), "sales order")
        run.check_version(order)
        when = effective_date(self.books, run, date)
        number = order.authorise_return(lines, when, reason)
        return Result(str(order.id), order.version, extra={
            "rma_number": number, "date": when.isoformat()}), [order]

    @command("cancel_return_authorisation", id="order_id")
    def cancel_return_authorisation(self, run: Attempt, order_id: object, rma_number: object,
                                    reason: object) -> Outcome:
        """Cancels an RMA with goods still to come back, on the business date: what it
        still authorises lapses. Nothing is posted."""
        order = self.get(SalesOrder, str(order_id), "sales order")
        run.check_version(order)
        when = effective_date(self.books, run, None)
        order.cancel_return_authorisation(rma_number, reason, when)
        return Result(str(order.id), order.version, extra={
            "rma_number": str(rma_number), "date": when.isoformat()}), [order]

    @command("return_goods", id="order_id", added=("authorisation",))
    def return_goods(self, run: Attempt, order_id: object,
                     lines: Sequence[Mapping[str, object]], date: object = None,
                     reason: object = None, authorisation: object = None) -> Outcome:
        """Records goods returned on an order on ``date`` (the business date by default):
        sound goods back into stock and damaged ones written off, both at the cost they
        left at (Dr Inventory / Inventory Adjustments, Cr COGS), and a credit note for
        their value and tax (Dr Revenue, Dr Tax, Cr Receivable) numbered from the credit
        note series, settling the invoices they were on; the rest of the credit is the
        customer's unapplied credit. Given ``authorisation`` (an RMA number of the order),
        the goods must be within what that RMA still authorises, and lower it."""
        order = self.get(SalesOrder, str(order_id), "sales order")
        run.check_version(order)
        when = effective_date(self.books, run, date)
        planned = order.plan_return(lines, when, reason, authorisation)
        sound = [line for line in planned.lines if not line["damaged"]]
        run.hold(StockItem.create_id(line["sku"]) for line in sound)
        series_id = DocumentSeries.create_id(self.settings.credit_note_prefix, when.year)
        run.hold([series_id], always=True)
        series = (self.get(DocumentSeries, series_id, "document series")
                  if self.exists(series_id)
                  else DocumentSeries.open(self.settings.credit_note_prefix, when.year))
        items = []
        for line in sound:
            item = self.stock_item_of(line["sku"])
            item.restock(order.id, line["quantity"], line["cost"])
            items.append(item)
        number = series.issue()
        order.record_return(planned, number)
        return_no = len(order.returns)
        changed: list[Aggregate] = [order, series, *items]
        changed += self.books.caused_by(
            posting_rules.goods_returned(planned.restocked_cost, planned.damaged_cost),
            when=when, memo=f"Return {return_no} of {order.number} at cost", source=order)
        changed += self.books.caused_by(
            posting_rules.return_credited(planned.net, planned.tax, planned.total),
            when=when, memo=f"Credit note {number} for return {return_no} of {order.number}",
            source=order)
        extra: dict[str, object] = {
            "return_no": return_no, "credit_note_number": number,
            "restocked_cost": str(planned.restocked_cost),
            "damaged_cost": str(planned.damaged_cost), "net": str(planned.net),
            "tax": str(planned.tax), "total": str(planned.total),
            "applied": str(planned.applied), "unapplied": str(planned.unapplied),
            "credits": [{"invoice_number": share.invoice_number, "total": str(share.total),
                         "applied": str(share.applied)} for share in planned.shares],
            "date": when.isoformat()}
        if planned.authorisation is not None:
            extra["authorisation"] = planned.authorisation
        if planned.unapplied:
            customer = self.get(Customer, order.customer_id, "customer")
            customer.receive_credit(planned.unapplied, number, when, order.id)
            changed.append(customer)
            extra["customer_credit"] = str(customer.credit)
        return Result(str(order.id), order.version, extra=extra), changed
