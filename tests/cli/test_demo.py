"""The ``o2c`` command line as a user drives it: the NovaTech demo, reports, projections.

The expected figures are not copied from o2c's output: ``Story`` below re-tells
demo.py with its raw numbers (quantities, unit costs, prices, days) and works
the books out with the posting rules of DESIGN.md and its own FIFO, so a wrong
figure anywhere in o2c shows up here to the cent.

Most commands run in-process through typer's ``CliRunner``; the demo itself,
the follower worker and a few exit statuses go through the installed ``o2c``
console script, as a user would run them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from o2c.bootstrap import build_app
from o2c.cli import cli
from o2c.config import Settings
from o2c.projections import Projector

D = Decimal
CENT = D("0.01")
ZERO = D("0.00")
TAX_RATE = D("0.08")
SENSOR, GATEWAY, CABLE = "NT-SENSOR-100", "NT-GATEWAY-200", "NT-CABLE-5M"
ACCOUNTS = ("1000", "1100", "1200", "2000", "2100", "3000", "4000", "5000", "5100")
READ_MODELS = ("pipeline", "inventory", "trial_balance", "ar_aging", "order_status")
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


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo, recorded once by the installed script on a fresh SQLite file, read-only."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'o2c.sqlite3'}"
    recorded = record_demo(url)
    assert recorded.run.code == 0, recorded.run.err
    return recorded


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


def test_the_story_model_is_the_novatech_story() -> None:
    """The independent model reproduces the facts demo.py states in prose."""
    assert FACTS["helios_available"] == 70  # "Helios order not confirmed: 100 wanted, 70 ..."
    assert [i.total for o in STORY.orders for i in o.invoices] == [
        D("7311.60"), D("2883.60"), D("5158.08")]
    assert STORY.value(SENSOR) == D("3115.00")  # 20 left @ 42.00 and 50 @ 45.50


def test_demo_prints_the_pipeline_inventory_and_trial_balance(demo: Demo) -> None:
    out = demo.run.out
    assert "Traceback" not in demo.run.err
    for title in ("Pipeline", "Inventory", "Trial Balance"):
        assert re.search(rf"^\s*{title}\s*$", out, re.MULTILINE), title
    assert "Helios order not confirmed: NT-SENSOR-100: 100 wanted, 70 available" in out
    assert "win rate 66.7% · leads 8: 5 converted, 2 disqualified, 1 open" in out
    assert "total value 8051.00" in out
    total = money(sum(d for d, _ in STORY.trial_balance().values()))
    assert f"totals: debit {total} credit {total} balance 0.00" in out
    for code, (debit, credit) in STORY.trial_balance().items():
        assert re.search(rf"{code} .* {money(debit)} .* {money(credit)} .* "
                         rf"{money(debit - credit)} ", out), code


def test_inventory_is_right_to_the_cent(demo: Demo) -> None:
    check_inventory(demo.cli)


def test_trial_balance_is_right_to_the_cent_and_balances(demo: Demo) -> None:
    check_trial_balance(demo.cli)


def test_pipeline_counts_amounts_and_rates(demo: Demo) -> None:
    check_pipeline(demo.cli)


def test_ar_aging_today(demo: Demo) -> None:
    check_ar_aging(demo.cli, demo.today)
    report = demo.cli.report("ar-aging", "--as-of", demo.today.isoformat())
    assert report["total_open"] == "5041.68"
    assert [(i["open"], i["bucket"]) for i in report["invoices"]] == [
        ("1883.60", "1-30"), ("3158.08", "current")]


# Formats -----------------------------------------------------------------------------------

def _json_rows(name: str, report: dict[str, Any]) -> list[dict[str, str]]:
    if name == "pipeline":
        rows = [*report["stages"], {"stage": "won", **report["won"], "weighted_amount": ""},
                {"stage": "lost", **report["lost"], "weighted_amount": ""}]
    elif name == "inventory":
        rows = report["items"]
    elif name == "trial-balance":
        rows = [{k: v for k, v in a.items() if k != "normal_balance"} for a in report["accounts"]]
    else:
        rows = report["invoices"]
    return [{k: str(v) for k, v in row.items()} for row in rows]


@pytest.mark.parametrize(("name", "header", "figures"), [
    ("pipeline", "stage,count,amount,weighted_amount", ["18500.00", "14800.00", "66.7%"]),
    ("inventory", "sku,name,on_hand,reserved,available,value", ["3115.00", "8051.00"]),
    ("trial-balance", "code,name,type,debit,credit,balance", ["146761.60", "-14216.00"]),
    ("ar-aging", "invoice_number,order_id,customer_id,issued_on,due_on,total,paid,open,"
                 "days_overdue,bucket", ["1883.60", "total open 5041.68"]),
])
def test_each_report_as_table_json_and_csv(demo: Demo, name: str, header: str,
                                           figures: list[str]) -> None:
    as_of = ["--as-of", demo.today.isoformat()] if name == "ar-aging" else []
    report = demo.cli.report(name, *as_of)
    table = demo.cli.run("report", name, *as_of)
    assert table.code == 0, table.err
    assert name.replace("-", " ").title() in table.out
    for figure in figures:
        assert figure in table.out
    as_csv = demo.cli.run("report", name, "--format", "csv", *as_of)
    assert as_csv.code == 0, as_csv.err
    assert as_csv.out.splitlines()[0] == header
    assert list(csv.DictReader(io.StringIO(as_csv.out))) == _json_rows(name, report)
    assert demo.cli.run("report", name, "--format", "json", *as_of).out == json.dumps(
        report, indent=2) + "\n"


# Time travel: as of an effective date, as known at a recording time -----------------------

def assert_balances(store: Cli, expected: dict[str, tuple[Decimal, Decimal]],
                    *options: str) -> None:
    report = store.report("trial-balance", *options)
    got = {a["code"]: (D(a["debit"]), D(a["credit"]), D(a["balance"]))
           for a in report["accounts"]}
    assert got == {code: (d, c, d - c) for code, (d, c) in expected.items()}
    total = sum(d for d, _ in expected.values())
    assert report["totals"] == {"debit": money(total), "credit": money(total), "balance": "0.00"}


def test_known_at_a_time_before_the_demo_ran_is_an_empty_trial_balance(demo: Demo) -> None:
    before = demo.before.isoformat()
    assert_balances(demo.cli, dict.fromkeys(ACCOUNTS, (ZERO, ZERO)), "--known-at", before)
    report = demo.cli.report("trial-balance", "--known-at", before)
    assert report["known_at"] == demo.before.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert report["totals"]["debit"] == "0.00"


def test_known_at_now_is_the_whole_story(demo: Demo) -> None:
    now = datetime.now(UTC).isoformat()
    assert_balances(demo.cli, STORY.trial_balance(), "--known-at", now)


def _recorded_at_second_sensor_receipt(store: Cli) -> str:
    history = store.run("audit", "history", SENSOR, "--format", "json").json()
    [step] = [s for s in history if s["event"] == "StockItem.Received"
              and s["data"]["unit_cost"] == "45.50"]
    return str(step["recorded_at"])


def test_known_at_mid_story_shows_only_what_was_recorded_by_then(demo: Demo) -> None:
    moment = _recorded_at_second_sensor_receipt(demo.cli)
    expected = STORY.trial_balance(through="sensors 2")
    assert expected["1200"] == (D("15825.00"), ZERO)  # the four receipts, nothing shipped
    assert_balances(demo.cli, expected, "--known-at", moment)


@pytest.mark.parametrize("days", [76, 75, 74, 61, 60, 59, 58, 41, 40, 35, 33, 30, 10, 5, 0])
def test_as_of_a_date_excludes_later_postings(demo: Demo, days: int) -> None:
    assert_balances(demo.cli, STORY.trial_balance(as_of=days),
                    "--as-of", days_ago(demo.today, days))


def test_as_of_and_known_at_together(demo: Demo) -> None:
    moment = _recorded_at_second_sensor_receipt(demo.cli)
    expected = STORY.trial_balance(as_of=70, through="sensors 2")
    assert expected["1200"] == (D("13550.00"), ZERO)  # the back-dated second layer is later
    assert_balances(demo.cli, expected, "--as-of", days_ago(demo.today, 70),
                    "--known-at", moment)


@pytest.mark.parametrize("days", [35, 20])
def test_ar_aging_as_of_a_past_date_agrees_with_the_receivable_then(demo: Demo,
                                                                    days: int) -> None:
    check_ar_aging(demo.cli, demo.today, days)


# Bad input: exit 2 with a one-line reason --------------------------------------------------

@pytest.mark.parametrize(("args", "words"), [
    (["report", "trial-balance", "--as-of", "notadate"], ["bad date", "notadate"]),
    (["report", "trial-balance", "--as-of", "2026-02-30"], ["bad date"]),
    (["report", "ar-aging", "--as-of", "yesterday"], ["bad date", "yesterday"]),
    (["report", "trial-balance", "--known-at", "notatime"], ["bad date", "notatime"]),
    (["report", "pipeline", "--known-at", "2026-01-01T00:00:00Z"], ["--known-at"]),
    (["projections", "rebuild", "nope"], ["unknown read model", "nope", "trial_balance"]),
    (["projections", "rebuild", "inventory", "nope"], ["nope"]),
    (["audit", "history", "no-such-aggregate"], ["no events", "no-such-aggregate"]),
])
def test_bad_input_exits_2_with_a_one_line_reason(demo: Demo, args: list[str],
                                                  words: list[str]) -> None:
    head = demo.cli.head()
    one_line_reason(demo.cli.run(*args), *words)
    assert demo.cli.head() == head


def test_unknown_report_name_exits_2_naming_it(demo: Demo) -> None:
    run = demo.cli.script("report", "nope")
    assert run.code == 2
    assert "'nope' is not one of" in run.err
    assert run.out == ""


def test_unknown_report_name_is_a_one_line_reason(demo: Demo) -> None:
    one_line_reason(demo.cli.script("report", "nope"), "nope")


@pytest.mark.parametrize("name", ["pipeline", "inventory"])
def test_as_of_on_a_report_without_dates_is_refused(demo: Demo, name: str) -> None:
    one_line_reason(demo.cli.run("report", name, "--as-of", "2000-01-01"), "--as-of")


@pytest.mark.parametrize(("moment", "everything"), [("9999-12-31T23:00:00-05:00", True),
                                                    ("0001-01-01T00:30:00+01:00", False)])
def test_known_at_out_of_range_is_refused_or_means_before_or_after_all(
        demo: Demo, moment: str, everything: bool) -> None:
    """Either answer is sound: exit 2 with a one-line reason, or the books as known after
    everything (year 10000) or before anything (year 0). A traceback is not."""
    run = demo.cli.run("report", "trial-balance", "--known-at", moment, "--format", "json")
    if run.code == 2:
        one_line_reason(run, "known")
        return
    expected = STORY.trial_balance() if everything else dict.fromkeys(ACCOUNTS, (ZERO, ZERO))
    assert_balances(demo.cli, expected, "--known-at", moment)


@pytest.mark.parametrize("url", ["mysql://db/o2c", "sqlite:///"])
def test_an_unusable_store_exits_2(url: str) -> None:
    for args in (["report", "trial-balance"], ["demo"], ["projections", "status"]):
        one_line_reason(Cli(url).run(*args), "cannot open the store", "O2C_DATABASE_URL")


@pytest.mark.parametrize("url", ["mysql://db/o2c", "sqlite:///"])
def test_demo_reset_on_an_unusable_store_exits_2(url: str) -> None:
    one_line_reason(Cli(url).run("demo", "--reset"), "O2C_DATABASE_URL")


def test_a_bad_setting_is_named_in_the_reason(tmp_path: Path) -> None:
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}", O2C_CURRENCY="US")
    one_line_reason(store.run("report", "pipeline"), "O2C_CURRENCY", "ISO 4217")


# The demo runs once per store; --reset starts again ---------------------------------------

def test_demo_twice_refuses_and_records_nothing_then_reset_starts_again(
        tmp_path: Path) -> None:
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}")
    first = store.run("demo")
    assert first.code == 0, first.err
    position, digest = store.head()
    assert position > 100
    again = store.run("demo")
    one_line_reason(again, "already holds the NovaTech demo", "o2c demo --reset")
    assert again.out == ""  # not even the reports
    assert store.head() == (position, digest)
    reset = store.run("demo", "--reset")
    assert reset.code == 0, reset.err
    new_position, new_digest = store.head()
    assert new_position == position  # the same story, recorded once
    assert new_digest != digest  # ... on a new log
    check_trial_balance(store)


def test_demo_reset_erases_a_percent_encoded_sqlite_path(tmp_path: Path) -> None:
    folder = tmp_path / "my books"
    folder.mkdir()
    store = Cli(f"sqlite:///{quote(str(folder / 'o2c.sqlite3'))}")
    assert "%20" in store.url
    assert store.run("demo").code == 0
    assert (folder / "o2c.sqlite3").exists()
    reset = store.run("demo", "--reset")
    assert reset.code == 0, reset.err


# Projections: a live follower and a rebuild agree to the byte ------------------------------

def _status(store: Cli) -> dict[str, tuple[int, int, int]]:
    run = store.run("projections", "status")
    assert run.code == 0, run.err
    rows = {}
    for line in run.out.splitlines():
        found = re.fullmatch(r"\W*([a-z_]+)\W+(\d+)\W+(\d+)\W+(\d+)\W*", line)
        if found:
            rows[found[1]] = (int(found[2]), int(found[3]), int(found[4]))
    return rows


def _digests(url: str) -> dict[str, str]:
    app = build_app(Settings(database_url=url))
    try:
        projector = Projector(app)
        return {name: projector.digest(name) for name in READ_MODELS}
    finally:
        app.close()


@contextmanager
def follower(store: Cli) -> Iterator[subprocess.Popen[str]]:
    """``o2c projections run``, the worker process, following the store until stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("O2C_")}
    worker = subprocess.Popen([*O2C_COMMAND, "projections", "run", "--interval", "0.01"],
                              env={**env, **environment(store.url)}, text=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert worker.stderr is not None
        assert "following the log from position 0" in worker.stderr.readline()
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            raise
        finally:
            if worker.stderr is not None:
                worker.stderr.close()


def _caught_up(store: Cli, seconds: float = 30) -> dict[str, tuple[int, int, int]]:
    deadline = time.monotonic() + seconds
    while True:
        status = _status(store)
        if all(lag == 0 for _, _, lag in status.values()) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_projections_follow_live_and_a_rebuild_gives_the_same_digests(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o2c.sqlite3'}"
    store = Cli(url)
    with follower(store) as worker:
        assert store.run("demo").code == 0
        posted = store.run("journal", "post", "--memo", "Owner tops up the till",
                           "--line", "1000:debit:25.00", "--line", "3000:credit:25.00")
        assert posted.code == 0, posted.err
        status = _caught_up(store)
        assert worker.poll() is None, "the follower stopped by itself"
    assert worker.returncode == 0
    head, _ = store.head()
    assert status == dict.fromkeys(READ_MODELS, (head, head, 0))
    assert D(store.report("trial-balance")["accounts"][0]["balance"]) == D("146786.60")

    # Nobody follows now: status shows each read model one event behind the log.
    assert store.run("journal", "post", "--memo", "Till back to the bank", "--line",
                     "3000:debit:25.00", "--line", "1000:credit:25.00").code == 0
    assert _status(store) == dict.fromkeys(READ_MODELS, (head, head + 1, 1))
    before_catch_up = _digests(url)
    assert store.run("report", "inventory").code == 0  # a report catches every model up
    assert _status(store) == dict.fromkeys(READ_MODELS, (head + 1, head + 1, 0))
    live = _digests(url)
    assert live["trial_balance"] != before_catch_up["trial_balance"]
    assert live["pipeline"] == before_catch_up["pipeline"]  # no pipeline event since

    # Tamper with a read model (they are derived data, not the log): a rebuild repairs it.
    app = build_app(Settings(database_url=url))
    try:
        with app.db.transaction() as cur:
            cur.execute("UPDATE rm_inventory SET value = value + 1")
            cur.execute("DELETE FROM rm_leads")
    finally:
        app.close()
    assert _digests(url)["inventory"] != live["inventory"]
    rebuilt = store.run("projections", "rebuild")
    assert rebuilt.code == 0, rebuilt.err
    assert rebuilt.out.strip() == (f"rebuilt {', '.join(READ_MODELS)} to position {head + 1}")
    assert _digests(url) == live
    assert _status(store) == dict.fromkeys(READ_MODELS, (head + 1, head + 1, 0))

    one = store.run("projections", "rebuild", "trial_balance")
    assert one.code == 0, one.err
    assert one.out.strip() == f"rebuilt trial_balance to position {head + 1}"
    assert _digests(url) == live
    check_all_reports_after_till(store)


def check_all_reports_after_till(store: Cli) -> None:
    """The till entries cancel out: every figure is the story's again."""
    check_inventory(store)
    check_pipeline(store)
    balances = store.balances()
    expected = STORY.trial_balance()
    assert {c: d - cr for c, (d, cr) in balances.items()} == {
        c: d - cr for c, (d, cr) in expected.items()}


# PostgreSQL ------------------------------------------------------------------------------

@pytest.mark.postgres
def test_demo_on_postgresql_right_to_the_cent_refuses_twice_and_resets(
        pg_schema_url: str) -> None:
    recorded = record_demo(pg_schema_url)
    store = recorded.cli
    assert recorded.run.code == 0, recorded.run.err
    assert "total value 8051.00" in recorded.run.out
    check_all_reports(store, recorded.today)
    assert_balances(store, STORY.trial_balance(as_of=59), "--as-of",
                    days_ago(recorded.today, 59))
    assert_balances(store, dict.fromkeys(ACCOUNTS, (ZERO, ZERO)),
                    "--known-at", recorded.before.isoformat())
    head = store.head()
    one_line_reason(store.script("demo"), "already holds the NovaTech demo")
    assert store.head() == head
    assert store.run("demo", "--reset").code == 0
    position, digest = store.head()
    assert (position, digest != head[1]) == (head[0], True)
    check_trial_balance(store)
