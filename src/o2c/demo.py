"""The NovaTech story: a B2B electronics maker from first lead to cash.

NovaTech sells sensor modules, IoT gateways and cable to industrial buyers.
The story runs over the last 75 days (over two or three calendar months) so the
AR aging has something to age: leads come in (two are disqualified), deals move
through every stage, two are won and handed over as orders, one is lost; stock
arrives in two cost layers; an order cannot be confirmed for lack of stock;
shipments are partial; one order is cancelled; a count finds a damaged gateway.

Cobalt buys at its own price list (sensors at 84.00) with a line discount on cable
and an order discount, and its first order is over the credit limit finance gave it:
confirming it is refused (``credit_limit_exceeded``, nothing recorded) until finance
releases the order with a reason; it ships, is invoiced, and one sensor comes back
sound (restocked at the cost it left at) with ten metres of cable damaged (written
off), credited by a credit note of the CN series that settles part of its invoice.
Sales logs a call on the Cobalt deal, completes one follow-up task and leaves
another, on the open Vertex lead, overdue at the end; a second task is due after it.

Each step happens on its own business date (``Context(today=...)``), and a
document whose date differs from the day it is keyed carries that date: the
second sensor layer and the first Apex shipment are keyed the next morning and
dated the day before, an invoice is keyed two days after the shipment it bills,
a count and a payment are booked the morning after. Apex pays its first invoice
late (18 days after it fell due) and part of its second, naming each invoice;
Nimbus pays part of its invoice (applied to the oldest open one). The story ends
with the books closed through the last day of its first full calendar month
(``first_full_month``): every document dated in it was posted before.

Every command of the story carries an idempotency key (``demo:<step>``), so
telling it again replays what is recorded and records only what is missing: a
demo cut short (a kill, Ctrl-C) is finished by the next ``o2c demo``, on the
dates it began with (``run(..., finishing=...)``); a complete one is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from o2c.application import O2C, Context
from o2c.domain.credit import CreditLimitExceededError
from o2c.domain.errors import InsufficientStockError
from o2c.domain.ledger_account import DEFAULT_CHART

SENSOR, GATEWAY, CABLE = "NT-SENSOR-100", "NT-GATEWAY-200", "NT-CABLE-5M"
#: Who owns the story's follow-up tasks.
SALES_REP = "Maya Chen"
#: Who tells the story, as the log records them.
ACTORS = ("demo:finance", "demo:sales", "demo:warehouse")
#: Every command of the story has an idempotency key starting so.
KEY_PREFIX = "demo:"
#: The first and the last step of the story; the first is dated ``DAYS`` before its end.
FIRST, LAST = "capital", "close-month"
DAYS = 75
#: Events the store records on first start by itself (the book currency, the chart and
#: the periods record).
OPENING_EVENTS = len(DEFAULT_CHART) + 2


class DemoAlreadyRecorded(Exception):
    """The store already holds the NovaTech story."""


def already_recorded(app: O2C) -> bool:
    """True when the store holds the story, whole or in part (its first SKU exists)."""
    from o2c.domain.stock_item import StockItem

    return StockItem.create_id(SENSOR) in app.repository


def first_full_month(last_day: date) -> tuple[date, date]:
    """The first and last day of the story's first full calendar month (the one it
    closes): the month of its first day if that is the 1st, else the next one."""
    start = last_day - timedelta(days=DAYS)
    if start.day != 1:
        start = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return start, end


def run(app: O2C, say: Callable[[str], None] = print, today: date | None = None, *,
        finishing: date | None = None) -> dict[str, str]:
    """Records the story; returns the ids of its main actors. Refuses a store that
    already holds it, unless ``finishing`` one begun earlier whose last day was that
    date (``o2c demo`` finds it from the first step's key): then what is recorded is
    replayed by its keys and only what is missing is recorded.

    Besides the ids, ``first_day`` and ``last_day`` (ISO dates) bound the story, and
    ``closed_through`` is the last day of the month it closes."""
    if finishing is None and already_recorded(app):
        raise DemoAlreadyRecorded("this database already holds the NovaTech demo "
                                  "(run `o2c demo --reset` to start again)")
    if finishing is not None:
        say(f"Finishing the NovaTech demo begun earlier (its last day "
            f"{finishing.isoformat()})")
    end = finishing or today or datetime.now(UTC).date()

    def on(days_ago: int, actor: str, step: str) -> Context:
        return Context(actor=actor, today=end - timedelta(days=days_ago),
                       idempotency_key=KEY_PREFIX + step)

    def dated(days_ago: int) -> str:
        """A document's own date, when it is not the day it is keyed."""
        return (end - timedelta(days=days_ago)).isoformat()

    ids: dict[str, str] = {"first_day": (end - timedelta(days=DAYS)).isoformat(),
                           "last_day": end.isoformat()}
    finance, sales, warehouse = ACTORS

    say("Owner invests; items enter the item master; stock arrives in two cost layers")
    app.post_journal_entry(on(DAYS, finance, FIRST), "Owner's capital contribution",
                           [{"account": "1000", "debit": "150000.00"},
                            {"account": "3000", "credit": "150000.00"}])
    app.register_stock_item(on(75, warehouse, "item-sensor"), SENSOR, "Industrial sensor module")
    app.register_stock_item(on(75, warehouse, "item-gateway"), GATEWAY, "IoT edge gateway")
    app.register_stock_item(on(75, warehouse, "item-cable"), CABLE, "Shielded cable, 5 m")
    app.receive_stock(on(74, warehouse, "receive-sensor-1"), SENSOR, "100", "42.00")
    app.receive_stock(on(74, warehouse, "receive-gateway"), GATEWAY, "25", "310.00")
    app.receive_stock(on(74, warehouse, "receive-cable"), CABLE, "500", "3.20")
    # the second, dearer layer: arrived late on day 60, booked the next morning
    app.receive_stock(on(59, warehouse, "receive-sensor-2"), SENSOR, "50", "45.50",
                      date=dated(60))
    app.post_journal_entry(on(58, finance, "pay-suppliers"),
                           "Paid suppliers for the first receipts",
                           [{"account": "2000", "debit": "13550.00"},
                            {"account": "1000", "credit": "13550.00"}])

    say("Leads arrive; sales qualifies, converts and disqualifies")
    leads = {
        "apex": ("Dana Whitfield", "Apex Robotics", "dana@apexrobotics.example", "web form"),
        "helios": ("Marco Ruiz", "Helios Energy", "marco@helios.example", "trade show"),
        "quantum": ("Priya Nair", "Quantum Foods", "priya@quantumfoods.example", "referral"),
        "borealis": ("Tom Becker", "Borealis Logistics", "tom@borealis.example", "web form"),
        "cobalt": ("Lena Park", "Cobalt Medical", "lena@cobaltmed.example", "webinar"),
        "vertex": ("Sam Ito", "Vertex Labs", "sam@vertexlabs.example", "cold call"),
        "fjord": ("Ola Svensson", "Fjord Marine", "ola@fjordmarine.example", "web form"),
        "orbit": ("Ines Duarte", "Orbit Farms", "ines@orbitfarms.example", "partner"),
    }
    for key, (name, company, email, source) in leads.items():
        ids[f"lead_{key}"] = app.capture_lead(on(70, sales, f"lead-{key}"), name, company,
                                              email, source).id
    for key in ("apex", "helios", "cobalt", "borealis", "orbit"):
        app.qualify_lead(on(68, sales, f"qualify-{key}"), ids[f"lead_{key}"])
    app.disqualify_lead(on(67, sales, "disqualify-quantum"), ids["lead_quantum"],
                        "No budget until next fiscal year")
    app.disqualify_lead(on(67, sales, "disqualify-fjord"), ids["lead_fjord"],
                        "Consumer hobbyist, not a B2B buyer")

    deals = {
        "apex": ("Apex assembly line sensors", "9440.00"),
        "helios": ("Helios solar farm monitoring", "10200.00"),
        "cobalt": ("Cobalt clean-room retrofit", "18500.00"),
        "borealis": ("Borealis fleet telemetry", "32000.00"),
        "orbit": ("Orbit greenhouse sensors", "6400.00"),
    }
    for key, (title, amount) in deals.items():
        converted = app.convert_lead(
            on(66, sales, f"convert-{key}"), ids[f"lead_{key}"],
            {"title": title, "amount": amount,
             "expected_close_date": (end + timedelta(days=30)).isoformat()})
        ids[f"customer_{key}"] = converted.extra["customer_id"]
        ids[f"opp_{key}"] = converted.extra["opportunity_id"]
    direct = app.register_customer(on(66, sales, "customer-nimbus"), "Nimbus Data Centers",
                                   "buying@nimbusdc.example", credit_limit="50000.00",
                                   payment_terms_days=45)
    ids["customer_nimbus"] = direct.id
    ids["opp_nimbus"] = app.open_opportunity(on(65, sales, "opportunity-nimbus"), direct.id,
                                             "Nimbus rack monitoring pilot", "4800.00",
                                             (end + timedelta(days=45)).isoformat()).id

    say("Deals move through the pipeline: one at every stage, two won, one lost")
    for key, stages in {"apex": ("qualification", "proposal", "negotiation"),
                        "helios": ("qualification", "proposal", "negotiation"),
                        "cobalt": ("qualification", "proposal"),
                        "borealis": ("qualification", "proposal", "negotiation"),
                        "orbit": ("qualification",)}.items():
        for stage in stages:
            app.change_stage(on(64, sales, f"stage-{key}-{stage}"), ids[f"opp_{key}"], stage)
    app.change_stage(on(20, sales, "stage-cobalt-negotiation"), ids["opp_cobalt"], "negotiation")
    app.lose_opportunity(on(55, sales, "lose-borealis"), ids["opp_borealis"],
                         "Chose a competitor with an existing telematics contract")
    apex = app.win_opportunity(on(62, sales, "win-apex"), ids["opp_apex"], [
        {"sku": SENSOR, "quantity": "80", "unit_price": "89.00"},
        {"sku": GATEWAY, "quantity": "5", "unit_price": "464.00"}])
    ids["order_apex"] = apex.extra["order_id"]
    helios = app.win_opportunity(on(57, sales, "win-helios"), ids["opp_helios"], [
        {"sku": SENSOR, "quantity": "100", "unit_price": "87.00"},
        {"sku": CABLE, "quantity": "200", "unit_price": "7.50"}])
    ids["order_helios"] = helios.extra["order_id"]

    say("The Apex order is confirmed and ships in two parts; the Helios order waits for stock")
    app.confirm_order(on(61, warehouse, "confirm-apex"), ids["order_apex"])
    try:
        app.confirm_order(on(56, warehouse, "confirm-helios"), ids["order_helios"])
    except InsufficientStockError as refused:
        say(f"  Helios order not confirmed: {refused}")
    # the first shipment left on day 60 and was keyed (and invoiced) the next morning
    app.ship_order(on(59, warehouse, "ship-apex-1"), ids["order_apex"],
                   [{"sku": SENSOR, "quantity": "50"}, {"sku": GATEWAY, "quantity": "5"}],
                   date=dated(60))
    app.invoice_order(on(59, finance, "invoice-apex-1"), ids["order_apex"], date=dated(60))
    app.ship_order(on(40, warehouse, "ship-apex-2"), ids["order_apex"],
                   [{"sku": SENSOR, "quantity": "30"}])
    # invoiced two days later, dated the day it shipped
    app.invoice_order(on(38, finance, "invoice-apex-2"), ids["order_apex"], date=dated(40))

    say("Nimbus orders directly; one order is cancelled before it ships")
    nimbus = app.place_sales_order(on(35, sales, "order-nimbus"), ids["customer_nimbus"], [
        {"sku": GATEWAY, "quantity": "8", "unit_price": "480.00"},
        {"sku": CABLE, "quantity": "120", "unit_price": "7.80"}])
    ids["order_nimbus"] = nimbus.id
    app.confirm_order(on(35, warehouse, "confirm-nimbus"), nimbus.id)
    app.ship_order(on(32, warehouse, "ship-nimbus"), nimbus.id,
                   [{"sku": GATEWAY, "quantity": "8"}, {"sku": CABLE, "quantity": "120"}],
                   date=dated(33))
    app.invoice_order(on(32, finance, "invoice-nimbus"), nimbus.id)
    cancelled = app.place_sales_order(on(30, sales, "order-orbit"), ids["customer_orbit"], [
        {"sku": CABLE, "quantity": "150", "unit_price": "7.50"}])
    ids["order_cancelled"] = cancelled.id
    app.confirm_order(on(30, warehouse, "confirm-orbit"), cancelled.id)
    app.cancel_order(on(25, sales, "cancel-orbit"), cancelled.id,
                     "Customer postponed the greenhouse project")

    say("Cobalt buys at its own prices, with discounts; its first order is over its credit "
        "limit until finance releases it")
    cobalt = ids["customer_cobalt"]
    app.set_price(on(50, sales, "price-cobalt-sensor"), cobalt, SENSOR, "84.00")
    app.change_credit_limit(on(29, finance, "limit-cobalt"), cobalt, "2500.00",
                            "Opening limit for a new account")
    # the sensors take Cobalt's list price; the cable carries a line discount, the whole
    # order an order discount
    held = app.place_sales_order(on(28, sales, "order-cobalt"), cobalt, [
        {"sku": SENSOR, "quantity": "20"},
        {"sku": CABLE, "quantity": "130", "unit_price": "7.45", "discount_percent": "12.5"}],
        discount_percent="3.5")
    ids["order_cobalt"] = held.id
    if not app.customer(cobalt).released(UUID(held.id)):  # finishing a demo: no refusal
        try:
            app.confirm_order(on(28, warehouse, "confirm-cobalt-refused"), held.id)
        except CreditLimitExceededError as refused:
            say(f"  Cobalt order held for credit: {refused}")
        app.release_order_credit(on(27, finance, "release-cobalt"), held.id,
                                 "Signed purchase order and a bank reference on file")
    app.confirm_order(on(27, warehouse, "confirm-cobalt"), held.id)
    app.ship_order(on(25, warehouse, "ship-cobalt"), held.id,
                   [{"sku": SENSOR, "quantity": "20"}, {"sku": CABLE, "quantity": "130"}])
    app.invoice_order(on(24, finance, "invoice-cobalt"), held.id, date=dated(25))

    say("Sales follows up: a call on the Cobalt deal, a task done, one left overdue")
    app.log_activity(on(20, sales, "call-cobalt"), "opportunity", ids["opp_cobalt"], "call",
                     "Walked Lena through the retrofit terms", owner=SALES_REP,
                     outcome="Ready to negotiate")
    done = app.log_activity(on(19, sales, "task-orbit"), "opportunity", ids["opp_orbit"],
                            "task", "Send the greenhouse sensor datasheet", owner=SALES_REP,
                            due_date=dated(12))
    app.complete_activity(on(13, sales, "complete-orbit"), done.id, outcome="Datasheet sent")
    ids["task_overdue"] = app.log_activity(
        on(18, sales, "task-vertex"), "lead", ids["lead_vertex"], "task",
        "Call Sam back about the lab pilot", owner=SALES_REP, due_date=dated(8)).id
    ids["task_upcoming"] = app.log_activity(
        on(16, sales, "task-cobalt"), "opportunity", ids["opp_cobalt"], "task",
        "Send the revised clean-room quote", owner=SALES_REP,
        due_date=(end + timedelta(days=5)).isoformat()).id

    say("A count finds a damaged gateway (counted on day 15, booked the next morning)")
    app.adjust_stock(on(14, warehouse, "count-gateway"), GATEWAY, "11",
                     "Cycle count: one unit damaged in the warehouse", date=dated(15))

    say("Payments: Apex pays its first invoice late and part of the second, naming each; "
        "Nimbus pays part of its invoice")
    first, second = (i["invoice_number"] for i in app.sales_order(ids["order_apex"]).invoices)
    total = app.sales_order(ids["order_apex"]).invoices[0]["total"]
    # due on day 30, paid on day 12 (seen on the bank statement the next morning)
    app.pay_order(on(11, finance, "pay-apex-1"), ids["order_apex"], str(total), "ACH 88121",
                  invoices=[first], date=dated(12))
    app.pay_order(on(10, finance, "pay-apex-2"), ids["order_apex"], "1000.00", "ACH 90410",
                  invoices=[second])
    app.pay_order(on(4, finance, "pay-nimbus"), nimbus.id, "2000.00", "Wire NDC-5531",
                  date=dated(5))

    say("Cobalt returns a sensor (restocked) and ten metres of damaged cable, credited")
    returned = app.return_goods(on(6, warehouse, "return-cobalt"), held.id, [
        {"sku": SENSOR, "quantity": "1"}, {"sku": CABLE, "quantity": "10", "damaged": True}],
        reason="One sensor not needed; a cable reel crushed in transit")
    ids["credit_note"] = str(returned.extra["credit_note_number"])

    month_start, month_end = first_full_month(end)
    say(f"Finance closes {month_start:%B %Y}: the books are closed through "
        f"{month_end.isoformat()}")
    app.close_period(on(0, finance, LAST), month_end.isoformat(),
                     f"{month_start:%B %Y} closed")
    ids["closed_through"] = month_end.isoformat()
    return ids
