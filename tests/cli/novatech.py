"""The NovaTech story told independently of demo.py, and ``o2c`` run as a user runs it.

The expected figures are not copied from o2c's output: ``Story`` below re-tells
demo.py with its raw numbers (quantities, unit costs, prices, days) and works
the books out with the posting rules of DESIGN.md and its own FIFO, so a wrong
figure anywhere in o2c shows up in the CLI tests to the cent. ``Cli`` runs
``o2c`` in-process through typer's ``CliRunner`` or as the installed console
script; the ``check_*`` functions compare a store's reports with the story.

Imported as ``from novatech import ...`` by the tests beside it (pytest's
prepend import mode puts this folder on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from o2c.cli import cli

D = Decimal
CENT = D("0.01")
ZERO = D("0.00")
TAX_RATE = D("0.08")
SENSOR, GATEWAY, CABLE = "NT-SENSOR-100", "NT-GATEWAY-200", "NT-CABLE-5M"
#: The default chart (CONTRACT.md) and 3100 Retained Earnings (the year-end close's).
ACCOUNTS = ("1000", "1100", "1200", "2000", "2100", "3000", "3100", "4000", "5000", "5100")
READ_MODELS = ("pipeline", "inventory", "trial_balance", "ar_aging", "order_status",
               "customer_list", "lead_list", "opportunity_list", "order_list", "invoice_list",
               "journal_list")
SCRIPT = Path(sys.executable).with_name("o2c")
O2C_COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "o2c.cli"]


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def money(amount: Decimal) -> str:
    """How the reports print money: exactly two places."""
    return f"{amount:.2f}"


# The story, told again from demo.py's raw numbers ----------------------------------------

@dataclass
class Order:
    terms: int
    lines: dict[str, tuple[Decimal, Decimal]]  # sku -> (quantity, unit price)
    shipped: dict[str, Decimal] = field(default_factory=dict)
    invoiced: dict[str, Decimal] = field(default_factory=dict)
    reserved: dict[str, Decimal] = field(default_factory=dict)
    invoices: list[Invoice] = field(default_factory=list)


@dataclass
class Invoice:
    issued: int  # days before the demo's last day
    due: int
    total: Decimal
    payments: list[tuple[int, Decimal]] = field(default_factory=list)

    def paid(self, as_of: int | None = None) -> Decimal:
        """Paid on or before ``as_of`` days before the last day (everything when None)."""
        return sum((amount for day, amount in self.payments if as_of is None or day >= as_of),
                   ZERO)


@dataclass
class Posting:
    step: str
    days_ago: int
    account: str
    debit: Decimal
    credit: Decimal


class Story:
    """The books of the NovaTech story, worked out independently of o2c."""

    def __init__(self) -> None:
        self.postings: list[Posting] = []
        self.steps: list[str] = []
        self.layers: dict[str, list[list[Decimal]]] = {SENSOR: [], GATEWAY: [], CABLE: []}
        self.reserved: dict[str, Decimal] = dict.fromkeys(self.layers, D(0))
        self.orders: list[Order] = []

    def post(self, step: str, days_ago: int, *lines: tuple[str, Decimal, Decimal]) -> None:
        self.steps.append(step)
        self.postings += [Posting(step, days_ago, a, cents(d), cents(c)) for a, d, c in lines]

    def on_hand(self, sku: str) -> Decimal:
        return sum((q for q, _ in self.layers[sku]), D(0))

    def value(self, sku: str) -> Decimal:
        return sum((v for _, v in self.layers[sku]), ZERO)

    def receive(self, step: str, days_ago: int, sku: str, quantity: str, unit_cost: str) -> None:
        value = cents(D(quantity) * D(unit_cost))
        self.layers[sku].append([D(quantity), value])
        self.post(step, days_ago, ("1200", value, ZERO), ("2000", ZERO, value))

    def take_fifo(self, sku: str, quantity: Decimal) -> Decimal:
        cost, left = ZERO, quantity
        while left:
            layer = self.layers[sku][0]
            if layer[0] <= left:
                cost, left = cost + layer[1], left - layer[0]
                self.layers[sku].pop(0)
            else:
                part = cents(layer[1] * left / layer[0])
                layer[0], layer[1], cost, left = layer[0] - left, layer[1] - part, cost + part, 0
        return cost

    def place(self, terms: int, lines: dict[str, tuple[str, str]]) -> Order:
        order = Order(terms, {sku: (D(q), D(p)) for sku, (q, p) in lines.items()})
        self.orders.append(order)
        return order

    def confirm(self, order: Order) -> bool:
        if any(q > self.on_hand(sku) - self.reserved[sku] for sku, (q, _) in order.lines.items()):
            return False
        for sku, (quantity, _) in order.lines.items():
            self.reserved[sku] += quantity
            order.reserved[sku] = quantity
        return True

    def ship(self, step: str, order: Order, days_ago: int, lines: dict[str, str]) -> None:
        cost = ZERO
        for sku, quantity in lines.items():
            cost += self.take_fifo(sku, D(quantity))
            self.reserved[sku] -= D(quantity)
            order.reserved[sku] -= D(quantity)
            order.shipped[sku] = order.shipped.get(sku, D(0)) + D(quantity)
        self.post(step, days_ago, ("5000", cost, ZERO), ("1200", ZERO, cost))

    def invoice(self, step: str, order: Order, days_ago: int) -> Invoice:
        net = ZERO
        for sku, shipped in order.shipped.items():
            quantity = shipped - order.invoiced.get(sku, D(0))
            net += cents(quantity * order.lines[sku][1])
            order.invoiced[sku] = shipped
        tax = cents(net * TAX_RATE)
        invoice = Invoice(days_ago, days_ago - order.terms, net + tax)
        order.invoices.append(invoice)
        self.post(step, days_ago, ("1100", net + tax, ZERO), ("4000", ZERO, net),
                  ("2100", ZERO, tax))
        return invoice

    def pay(self, step: str, order: Order, days_ago: int, amount: Decimal) -> None:
        left = amount
        for invoice in order.invoices:  # oldest first
            share = min(left, invoice.total - invoice.paid())
            if share:
                invoice.payments.append((days_ago, share))
                left -= share
        assert left == 0
        self.post(step, days_ago, ("1000", amount, ZERO), ("1100", ZERO, amount))

    def cancel(self, order: Order) -> None:
        for sku, quantity in order.reserved.items():
            self.reserved[sku] -= quantity
        order.reserved.clear()

    # What the reports should say --------------------------------------------------------

    def trial_balance(self, as_of: int | None = None,
                      through: str | None = None) -> dict[str, tuple[Decimal, Decimal]]:
        """Debit and credit per account: effective ``as_of`` days before the last day or
        earlier, and recorded no later than step ``through``."""
        last = self.steps.index(through) if through else len(self.steps)
        known = set(self.steps[: last + 1])
        sums = {code: [ZERO, ZERO] for code in ACCOUNTS}
        for p in self.postings:
            if (as_of is None or p.days_ago >= as_of) and p.step in known:
                sums[p.account][0] += p.debit
                sums[p.account][1] += p.credit
        return {code: (d, c) for code, (d, c) in sums.items()}

    def open_invoices(self, as_of: int) -> list[tuple[Invoice, Decimal]]:
        found = [(i, i.total - i.paid(as_of)) for o in self.orders for i in o.invoices
                 if i.issued >= as_of]
        return sorted([(i, open_) for i, open_ in found if open_ > 0], key=lambda x: -x[0].due)


def tell() -> tuple[Story, dict[str, Any]]:
    """demo.py's story; returns the books and a few of its facts."""
    s = Story()
    s.post("capital", 75, ("1000", D("150000.00"), ZERO), ("3000", ZERO, D("150000.00")))
    s.receive("sensors 1", 74, SENSOR, "100", "42.00")
    s.receive("gateways", 74, GATEWAY, "25", "310.00")
    s.receive("cable", 74, CABLE, "500", "3.20")
    s.receive("sensors 2", 60, SENSOR, "50", "45.50")
    s.post("suppliers paid", 58, ("2000", D("13550.00"), ZERO), ("1000", ZERO, D("13550.00")))
    apex = s.place(30, {SENSOR: ("80", "89.00"), GATEWAY: ("5", "464.00")})
    helios = s.place(30, {SENSOR: ("100", "87.00"), CABLE: ("200", "7.50")})
    assert s.confirm(apex)
    helios_available = s.on_hand(SENSOR) - s.reserved[SENSOR]
    assert not s.confirm(helios)
    s.ship("apex shipment 1", apex, 60, {SENSOR: "50", GATEWAY: "5"})
    s.invoice("apex invoice 1", apex, 60)
    s.ship("apex shipment 2", apex, 40, {SENSOR: "30"})
    s.invoice("apex invoice 2", apex, 40)
    nimbus = s.place(45, {GATEWAY: ("8", "480.00"), CABLE: ("120", "7.80")})
    assert s.confirm(nimbus)
    s.ship("nimbus shipment", nimbus, 33, {GATEWAY: "8", CABLE: "120"})
    s.invoice("nimbus invoice", nimbus, 33)
    orbit = s.place(30, {CABLE: ("150", "7.50")})
    assert s.confirm(orbit)
    s.cancel(orbit)
    s.pay("apex pays 1", apex, 30, apex.invoices[0].total)
    s.pay("apex pays 2", apex, 10, D("1000.00"))
    s.pay("nimbus pays", nimbus, 5, D("2000.00"))
    return s, {"helios_available": helios_available}


STORY, FACTS = tell()

# Deals of the story: amount, the stages they were moved through, and how they closed.
PROBABILITY = {"prospecting": 10, "qualification": 20, "proposal": 50, "negotiation": 80}
DEALS = {
    "apex": ("9440.00", ["qualification", "proposal", "negotiation", "won"]),
    "helios": ("10200.00", ["qualification", "proposal", "negotiation", "won"]),
    "cobalt": ("18500.00", ["qualification", "proposal", "negotiation"]),
    "borealis": ("32000.00", ["qualification", "proposal", "negotiation", "lost"]),
    "orbit": ("6400.00", ["qualification"]),
    "nimbus": ("4800.00", []),
}
LEADS = {"captured": 8, "converted": 5, "disqualified": 2}


# Running the CLI ---------------------------------------------------------------------------

@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.out)


def environment(url: str) -> dict[str, str]:
    return {"O2C_DATABASE_URL": url, "O2C_CURRENCY": "USD", "O2C_TAX_RATE": "0.08"}


class Cli:
    """``o2c`` on one store: in-process (``run``) or as the installed script (``script``)."""

    runner = CliRunner()

    def __init__(self, url: str, **settings: str) -> None:
        self.url = url
        self.env = {**environment(url), **settings}

    def run(self, *args: str) -> Run:
        result = self.runner.invoke(cli, list(args), env=self.env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Run(result.exit_code, result.stdout, result.stderr)

    def script(self, *args: str) -> Run:
        env = {k: v for k, v in os.environ.items() if not k.startswith("O2C_")}
        done = subprocess.run([*O2C_COMMAND, *args], env={**env, **self.env},
                              capture_output=True, text=True, timeout=120, check=False)
        return Run(done.returncode, done.stdout, done.stderr)

    def report(self, name: str, *options: str) -> dict[str, Any]:
        report: dict[str, Any] = self.run("report", name, "--format", "json", *options).json()
        return report

    def balances(self, *options: str) -> dict[str, tuple[Decimal, Decimal]]:
        return {a["code"]: (D(a["debit"]), D(a["credit"]))
                for a in self.report("trial-balance", *options)["accounts"]}

    def head(self) -> tuple[int, str]:
        """The log's head position and hash, as ``o2c audit verify`` proves them."""
        verified = self.run("audit", "verify")
        assert verified.code == 0, verified.out + verified.err
        found = re.fullmatch(r"OK (\d+) events, head position (\d+), head hash ([0-9a-f]{64})\n",
                             verified.out)
        assert found, verified.out
        return int(found[2]), found[3]


def one_line_reason(run: Run, *words: str) -> None:
    """Exit 2 with one line on stderr that says why."""
    assert run.code == 2, (run.code, run.out, run.err)
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    for word in words:
        assert word in lines[0], lines[0]


@dataclass
class Demo:
    cli: Cli
    run: Run
    before: datetime
    today: date


def record_demo(url: str) -> Demo:
    before = datetime.now(UTC)
    store = Cli(url)
    run = store.script("demo")
    if datetime.now(UTC).date() != before.date():
        pytest.skip("the demo ran across midnight UTC; its dates are ambiguous")
    return Demo(store, run, before, before.date())


def days_ago(today: date, days: int) -> str:
    return (today - timedelta(days=days)).isoformat()


# The figures, to the cent ------------------------------------------------------------------

def check_inventory(store: Cli) -> None:
    report = store.report("inventory")
    items = {i["sku"]: i for i in report["items"]}
    assert list(items) == sorted([SENSOR, GATEWAY, CABLE])
    for sku in (SENSOR, GATEWAY, CABLE):
        on_hand = STORY.on_hand(sku)
        assert items[sku]["on_hand"] == str(on_hand)
        assert items[sku]["reserved"] == "0" == str(STORY.reserved[sku])
        assert items[sku]["available"] == str(on_hand)
        assert items[sku]["value"] == money(STORY.value(sku))
    assert report["total_value"] == money(sum(STORY.value(s) for s in STORY.layers)) == "8051.00"


def check_trial_balance(store: Cli) -> None:
    report = store.report("trial-balance")
    expected = STORY.trial_balance()
    assert [a["code"] for a in report["accounts"]] == list(ACCOUNTS)
    for account in report["accounts"]:
        debit, credit = expected[account["code"]]
        assert (account["debit"], account["credit"], account["balance"]) == (
            money(debit), money(credit), money(debit - credit)), account["code"]
    total = sum(d for d, _ in expected.values())
    assert report["totals"] == {"debit": money(total), "credit": money(total), "balance": "0.00"}
    balance = {a["code"]: D(a["balance"]) for a in report["accounts"]}
    # The books agree with the business: stock value, open invoices, revenue and tax.
    assert balance["1200"] == D(store.report("inventory")["total_value"]) == D("8051.00")
    assert balance["1100"] == D(
        store.report("ar-aging", "--as-of", datetime.now(UTC).date().isoformat())["total_open"])
    invoices = [i for o in STORY.orders for i in o.invoices]
    assert -balance["4000"] - balance["2100"] == sum(i.total for i in invoices)
    assert -balance["2100"] == D("1137.28")  # 8 % of 6770.00, 2670.00 and 4776.00
    assert balance["5000"] == D("7774.00")  # 2100 + 1550 + 1260 + 2480 + 384


def check_pipeline(store: Cli) -> None:
    report = store.report("pipeline")
    final = {name: (D(amount), (moves or ["prospecting"])[-1])
             for name, (amount, moves) in DEALS.items()}
    for row in report["stages"]:
        deals = [amount for amount, stage in final.values() if stage == row["stage"]]
        assert row["count"] == len(deals), row
        assert row["amount"] == money(sum(deals, ZERO)), row
        assert row["weighted_amount"] == money(
            sum(deals, ZERO) * PROBABILITY[row["stage"]] / 100), row
    assert [r["stage"] for r in report["stages"]] == list(PROBABILITY)
    open_deals = [a for a, stage in final.values() if stage in PROBABILITY]
    assert report["open"] == {
        "count": len(open_deals), "amount": money(sum(open_deals, ZERO)),
        "weighted_amount": money(sum(a * PROBABILITY[s] / 100 for a, s in final.values()
                                     if s in PROBABILITY))}
    won = [a for a, stage in final.values() if stage == "won"]
    lost = [a for a, stage in final.values() if stage == "lost"]
    assert report["won"] == {"count": 2, "amount": money(sum(won, ZERO))} == {
        "count": 2, "amount": "19640.00"}
    assert report["lost"] == {"count": len(lost), "amount": money(sum(lost, ZERO))}
    assert report["win_rate"] == "0.6667"  # 2 won of 3 closed
    assert report["leads"] == {
        "total": LEADS["captured"], "converted": LEADS["converted"],
        "disqualified": LEADS["disqualified"],
        "open": LEADS["captured"] - LEADS["converted"] - LEADS["disqualified"]}
    assert report["lead_conversion_rate"] == "0.6250"  # 5 of 8


BUCKETS = (("current", None, 0), ("1-30", 1, 30), ("31-60", 31, 60), ("61-90", 61, 90),
           ("90+", 91, None))


def expected_aging(today: date, as_of: int) -> dict[str, Any]:
    invoices, buckets = [], {name: [0, ZERO] for name, _, _ in BUCKETS}
    for invoice, open_amount in STORY.open_invoices(as_of):
        overdue = invoice.due - as_of
        bucket = next(n for n, low, high in BUCKETS
                      if (low is None or overdue >= low) and (high is None or overdue <= high))
        buckets[bucket][0] += 1
        buckets[bucket][1] += open_amount
        invoices.append({"issued_on": days_ago(today, invoice.issued),
                         "due_on": days_ago(today, invoice.due), "total": money(invoice.total),
                         "paid": money(invoice.total - open_amount), "open": money(open_amount),
                         "days_overdue": max(overdue, 0), "bucket": bucket})
    return {"as_of": days_ago(today, as_of),
            "buckets": [{"bucket": n, "count": c, "amount": money(a)}
                        for n, (c, a) in buckets.items()],
            "invoices": invoices,
            "total_open": money(sum((D(i["open"]) for i in invoices), ZERO))}


def check_ar_aging(store: Cli, today: date, as_of: int = 0) -> None:
    report = store.report("ar-aging", "--as-of", days_ago(today, as_of))
    keys = ("issued_on", "due_on", "total", "paid", "open", "days_overdue", "bucket")
    got = {**report, "invoices": [{k: i[k] for k in keys} for i in report["invoices"]]}
    assert got == expected_aging(today, as_of)
    assert D(report["total_open"]) == STORY.trial_balance(as_of)["1100"][0] - (
        STORY.trial_balance(as_of)["1100"][1])


def check_all_reports(store: Cli, today: date) -> None:
    check_inventory(store)
    check_trial_balance(store)
    check_pipeline(store)
    check_ar_aging(store, today)
