"""The posting table of DESIGN.md: which accounts each business event debits and credits.

Each rule is a pure function from the amounts a command computed to the lines
of the journal entry it causes; the application posts them, in the same write
as the business event, as a ``JournalEntry`` whose cause names the event.

| business event | debit | credit |
|---|---|---|
| stock received | Inventory | Accounts Payable |
| count, loss | Inventory Adjustments | Inventory |
| count, gain | Inventory | Inventory Adjustments |
| order shipped | Cost of Goods Sold | Inventory |
| invoice issued | Accounts Receivable (total) | Sales Revenue (net), Sales Tax Payable (tax) |
| payment received (settling invoices) | Cash | Accounts Receivable |
| payment received beyond the invoices (customer credit) | Cash | Accounts Receivable |
| customer credit refunded | Accounts Receivable | Cash |
| invoice credited | Sales Revenue (net), Sales Tax Payable (tax) | Accounts Receivable (total) |
| goods returned, at cost | Inventory; Inventory Adjustments if damaged | Cost of Goods Sold |
| goods returned, credited | Sales Revenue (net), Tax Payable (tax) | Receivable (total) |
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from o2c.domain import ledger_account as chart

#: The cause of the journal entry a year-end close makes (revenue and expense balances
#: moved into retained earnings): profit and loss for a period leaves it out, or every
#: closed year would show no profit.
YEAR_END_CLOSE = "AccountingPeriods.YearClosed"
#: The cause of the entry that undoes a year-end close when a period of a closed year is
#: reopened (the closing entry reversed): profit and loss leaves it out too.
YEAR_END_REOPEN = "AccountingPeriods.YearReopened"

#: Accounts whose balance must equal a subledger (open invoices; stock value): only
#: the rules below post to them, never a manual entry.
CONTROL_ACCOUNTS = frozenset({chart.RECEIVABLE, chart.INVENTORY})


@dataclass(frozen=True)
class Posting:
    """One rule's outcome: the event it is caused by and the lines it posts."""

    cause: str
    lines: tuple[dict[str, object], ...]


def _lines(*pairs: tuple[str, str, Decimal]) -> tuple[dict[str, object], ...]:
    return tuple({"account": account, side: amount} for account, side, amount in pairs)


def stock_received(value: Decimal) -> Posting:
    """Goods received at cost: Dr Inventory, Cr Accounts Payable."""
    return Posting("StockItem.Received", _lines((chart.INVENTORY, "debit", value),
                                                (chart.PAYABLE, "credit", value)))


def stock_counted(value: Decimal) -> Posting:
    """A count's difference at cost: a loss (negative) to Inventory Adjustments, a gain from it."""
    loss = value < 0
    return Posting("StockItem.Adjusted", _lines(
        (chart.ADJUSTMENTS if loss else chart.INVENTORY, "debit", abs(value)),
        (chart.INVENTORY if loss else chart.ADJUSTMENTS, "credit", abs(value))))


def order_shipped(cost: Decimal) -> Posting:
    """Stock shipped at its FIFO cost: Dr Cost of Goods Sold, Cr Inventory."""
    return Posting("SalesOrder.Shipped", _lines((chart.COGS, "debit", cost),
                                                (chart.INVENTORY, "credit", cost)))


def invoice_issued(net: Decimal, tax: Decimal, total: Decimal) -> Posting:
    """An invoice: Dr Receivable (total), Cr Revenue (net) and Tax Payable (tax)."""
    return Posting("SalesOrder.Invoiced", _lines((chart.RECEIVABLE, "debit", total),
                                                 (chart.REVENUE, "credit", net),
                                                 (chart.TAX_PAYABLE, "credit", tax)))


def payment_received(amount: Decimal) -> Posting:
    """A customer's payment: Dr Cash, Cr Receivable."""
    return Posting("SalesOrder.PaymentReceived", _lines((chart.CASH, "debit", amount),
                                                        (chart.RECEIVABLE, "credit", amount)))


def invoice_credited(net: Decimal, tax: Decimal, total: Decimal) -> Posting:
    """A credit note: the invoice's postings reversed."""
    return Posting("SalesOrder.InvoiceCredited", _lines((chart.REVENUE, "debit", net),
                                                        (chart.TAX_PAYABLE, "debit", tax),
                                                        (chart.RECEIVABLE, "credit", total)))


def credit_received(amount: Decimal) -> Posting:
    """What a payment left after settling invoices, held as the customer's credit:
    Dr Cash, Cr Receivable (the credit is a negative receivable)."""
    return Posting("Customer.CreditReceived", _lines((chart.CASH, "debit", amount),
                                                     (chart.RECEIVABLE, "credit", amount)))


def credit_refunded(amount: Decimal) -> Posting:
    """Unapplied customer credit paid back: Dr Receivable, Cr Cash."""
    return Posting("Customer.CreditRefunded", _lines((chart.RECEIVABLE, "debit", amount),
                                                     (chart.CASH, "credit", amount)))


def goods_returned(restocked: Decimal, damaged: Decimal) -> Posting:
    """Returned goods at the cost they left at: COGS reversed, the sound goods back into
    Inventory, the damaged ones written off to Inventory Adjustments."""
    return Posting("SalesOrder.Returned", _lines((chart.INVENTORY, "debit", restocked),
                                                 (chart.ADJUSTMENTS, "debit", damaged),
                                                 (chart.COGS, "credit", restocked + damaged)))


def return_credited(net: Decimal, tax: Decimal, total: Decimal) -> Posting:
    """The credit note of a return: Dr Revenue (net), Dr Tax Payable (tax), Cr Receivable
    (total; what no open invoice took is the customer's unapplied credit, itself a
    negative receivable)."""
    return Posting("SalesOrder.Returned", _lines((chart.REVENUE, "debit", net),
                                                 (chart.TAX_PAYABLE, "debit", tax),
                                                 (chart.RECEIVABLE, "credit", total)))
