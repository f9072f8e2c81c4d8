"""The paged lists (``o2c.projections.lists``) and the read models behind them.

One small business is recorded through the use cases (once per database for the
tests that only read it); every list is then read page by page in every sort and
compared with what the aggregates themselves say (loaded here, independently of
the read models), and the list read models equal a rebuild from zero.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from o2c.application import O2C, Context
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.errors import InvalidInputError
from o2c.projections import Projector, lists
from o2c.projections.list_models import LIST_MODELS
from o2c.projections.orders import order_number
from o2c.projections.rebuild import rebuild
from support import fresh_database_url, require_postgres

CTX = Context(actor="lists-test")
D = Decimal


def _story(app: O2C) -> dict[str, Any]:
    """Leads in every status, customers (one converted), deals in several stages, orders
    from placed to paid and cancelled, invoices open, paid and credited, manual journal
    entries and a reversal. Returns the ids by role."""
    ids: dict[str, Any] = {}
    for sku, name in (("NT-SENSOR-100", "Sensor"), ("NT-GATEWAY-200", "Gateway"),
                      ("NT-CABLE-5M", "Cable 5 m"), ("NT-EMPTY", "Never stocked")):
        app.register_stock_item(CTX, sku, name)
    app.receive_stock(CTX, "NT-SENSOR-100", "500", "42.00")
    app.receive_stock(CTX, "NT-GATEWAY-200", "8", "300.00")
    app.receive_stock(CTX, "NT-CABLE-5M", "40", "3.50")

    leads = [app.capture_lead(CTX, f"Person {n}", company, f"p{n}@{domain}.example", source).id
             for n, (company, domain, source) in enumerate([
                 ("Apex Robotics", "apex", "web form"), ("Ärger GmbH", "aerger", "trade show"),
                 ("100% Widgets", "widgets", "referral"), ("Blue_Sky", "bluesky", "web form"),
                 ("Cobalt", "cobalt", "web form")])]
    app.qualify_lead(CTX, leads[1])
    app.disqualify_lead(CTX, leads[2], "No budget")
    converted = app.convert_lead(CTX, leads[0], {"title": "Apex pilot", "amount": "12000.00",
                                                 "expected_close_date": "2026-03-31"})
    ids["leads"] = leads
    apex, apex_deal = converted.extra["customer_id"], converted.extra["opportunity_id"]
    nimbus = app.register_customer(CTX, "Nimbus Data", "ap@nimbus.example",
                                   credit_limit="50000.00", payment_terms_days=45).id
    zeta = app.register_customer(CTX, "zeta labs", "buy@zeta.example").id
    ids["customers"] = [apex, nimbus, zeta]

    deals = [apex_deal] + [app.open_opportunity(CTX, nimbus, title, amount, close).id
                           for title, amount, close in (
                               ("Nimbus racks", "90000.00", "2026-01-15"),
                               ("Nimbus cables", "450.00", "2026-06-30"),
                               ("Nimbus spares", "7000.00", "2026-02-01"))]
    app.change_stage(CTX, deals[1], "proposal")
    app.change_stage(CTX, deals[1], "negotiation")
    app.lose_opportunity(CTX, deals[3], "Went elsewhere")
    won = app.win_opportunity(CTX, apex_deal, [
        {"sku": "NT-SENSOR-100", "quantity": "100", "unit_price": "89.00"},
        {"sku": "NT-GATEWAY-200", "quantity": "2", "unit_price": "480.00"}])
    ids["opportunities"] = deals

    paid_order = won.extra["order_id"]
    app.confirm_order(CTX, paid_order)
    app.ship_order(CTX, paid_order, [{"sku": "NT-SENSOR-100", "quantity": "60"}])
    first = app.invoice_order(CTX, paid_order).extra["invoice_number"]
    app.ship_order(CTX, paid_order, [{"sku": "NT-SENSOR-100", "quantity": "40"},
                                     {"sku": "NT-GATEWAY-200", "quantity": "2"}])
    second = app.invoice_order(CTX, paid_order).extra["invoice_number"]
    order = app.sales_order(paid_order)
    app.pay_order(CTX, paid_order, str(order.open_balance))

    credited = app.place_sales_order(CTX, nimbus, [
        {"sku": "NT-CABLE-5M", "quantity": "10", "unit_price": "9.99"}]).id
    app.confirm_order(CTX, credited)
    app.ship_order(CTX, credited, [{"sku": "NT-CABLE-5M", "quantity": "10"}])
    wrong = app.invoice_order(CTX, credited).extra["invoice_number"]
    app.credit_invoice(CTX, credited, wrong, "Billed at the wrong price")
    # The credited order stays shipped, with nothing open.

    open_order = app.place_sales_order(CTX, zeta, [
        {"sku": "NT-CABLE-5M", "quantity": "5", "unit_price": "9.99"}]).id
    app.confirm_order(CTX, open_order)
    app.ship_order(CTX, open_order, [{"sku": "NT-CABLE-5M", "quantity": "2"}])
    open_invoice = app.invoice_order(CTX, open_order).extra["invoice_number"]
    placed = app.place_sales_order(CTX, zeta, [
        {"sku": "NT-GATEWAY-200", "quantity": "1", "unit_price": "480.00"}]).id
    cancelled = app.place_sales_order(CTX, nimbus, [
        {"sku": "NT-GATEWAY-200", "quantity": "1", "unit_price": "480.00"}]).id
    app.cancel_order(CTX, cancelled, "Postponed")
    ids["orders"] = [paid_order, credited, open_order, placed, cancelled]
    ids["invoices"] = [first, second, wrong, open_invoice]

    till = app.post_journal_entry(CTX, "Owner tops up the till", [
        {"account": "1000", "debit": "25.00"}, {"account": "3000", "credit": "25.00"}]).id
    app.reverse_journal_entry(CTX, till, "Posted twice")
    app.post_journal_entry(CTX, "Bank fees 50%_off", [
        {"account": "5100", "debit": "3.10"}, {"account": "1000", "credit": "3.10"}])
    return ids


@pytest.fixture
def story(app: O2C) -> dict[str, Any]:
    ids = _story(app)
    Projector(app.db, app.settings).catch_up()
    return ids


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def told(request: pytest.FixtureRequest) -> Iterator[tuple[O2C, dict[str, Any]]]:
    """The story told once per database, for the tests that only read it."""
    if request.param == "postgres":
        require_postgres()
    with fresh_database_url(request.param) as url:
        app = build_app(Settings(database_url=url, currency="USD", pool_size=4))
        try:
            ids = _story(app)
            Projector(app.db, app.settings).catch_up()
            yield app, ids
        finally:
            app.close()


def _all(app: O2C, name: str, limit: int, **kwargs: Any) -> list[Any]:
    """Every item of a list, read ``limit`` at a time by following the cursors."""
    function = lists.LISTS[name]
    items: list[Any] = []
    cursor = None
    for _ in range(1000):
        page = function(app.db, app.places, limit=limit, cursor=cursor, **kwargs)
        assert len(page.items) <= limit
        items += page.items
        if page.next_cursor is None:
            return items
        assert page.items, "a page with a next cursor must not be empty"
        cursor = page.next_cursor
    raise AssertionError("the cursors never ended")


def _key(item: Any) -> Any:
    return getattr(item, "id", None) or getattr(item, "invoice_number", None) or item.sku


@pytest.mark.parametrize("name", list(lists.LISTS))
def test_every_sort_pages_through_every_item_once_in_order(
        told: tuple[O2C, dict[str, Any]], name: str) -> None:
    app, _ = told
    everything = _all(app, name, lists.MAX_LIMIT)
    assert everything
    for sort in lists.SORTS[name]:
        whole = _all(app, name, lists.MAX_LIMIT, sort=sort)
        for limit in (1, 2, 3):
            assert _all(app, name, limit, sort=sort) == whole, (sort, limit)
        assert sorted(map(_key, whole)) == sorted(map(_key, everything))
        assert len({_key(item) for item in whole}) == len(whole)
        expected = sorted(whole, key=_sort_key(sort), reverse=sort in (
            "newest", "amount", "date"))
        assert [_key(i) for i in whole] == [_key(i) for i in expected], sort


def _sort_key(sort: str) -> Any:
    """Each sort's order, worked out here from the items' own fields."""
    return {
        "newest": lambda i: i.position, "oldest": lambda i: i.position,
        "name": lambda i: (i.name.casefold(), i.position),
        "amount": lambda i: (i.amount, i.position),
        "close": lambda i: (i.expected_close_date, i.position),
        "due": lambda i: (i.due_on, i.position),
        "date": lambda i: (i.date, i.position),
        "sku": lambda i: i.sku,
        "available": lambda i: (i.available, i.sku),
    }[sort]


def test_items_say_what_the_aggregates_say(told: tuple[O2C, dict[str, Any]]) -> None:
    app, story = told
    places = app.places
    customers = {c.id: c for c in _all(app, "customers", 50)}
    assert set(customers) == set(story["customers"])
    for customer_id, item in customers.items():
        customer = app.customer(customer_id)
        assert (item.name, item.email, item.credit_limit, item.payment_terms_days) == (
            customer.name, customer.email, customer.credit_limit, customer.payment_terms_days)
        assert item.lead_id == (str(customer.lead_id) if customer.lead_id else None)

    leads = {lead.id: lead for lead in _all(app, "leads", 50)}
    assert set(leads) == set(story["leads"])
    for lead_id, item in leads.items():
        lead = app.lead(lead_id)
        assert (item.name, item.company, item.email, item.source, item.status) == (
            lead.name, lead.company, lead.email, lead.source, lead.status)
        assert item.reason == lead.reason
        assert item.customer_id == (str(lead.customer_id) if lead.customer_id else None)

    deals = {o.id: o for o in _all(app, "opportunities", 50)}
    assert set(deals) == set(story["opportunities"])
    for deal_id, item in deals.items():
        deal = app.opportunity(deal_id)
        assert (item.title, item.stage, item.probability, item.amount,
                item.expected_close_date, item.lost_reason) == (
            deal.title, deal.stage, deal.probability, deal.amount, deal.expected_close_date,
            deal.lost_reason)
        assert item.order_id == (str(deal.order_id) if deal.order_id else None)
        assert item.customer_name == app.customer(deal.customer_id).name
        assert item.weighted_amount == (deal.amount * deal.probability / 100).quantize(
            Decimal(1).scaleb(-places))

    orders = {o.id: o for o in _all(app, "sales_orders", 50)}
    assert set(orders) == set(story["orders"])
    for order_id, item in orders.items():
        order = app.sales_order(order_id)
        assert (item.number, item.status, item.net, item.paid, item.open) == (
            order.number, order.status, order.total, order.paid, order.open_balance)
        assert order_number(order_id) == order.number
        assert item.customer_name == app.customer(order.customer_id).name
        assert item.ordered_quantity == sum(line["quantity"] for line in order.lines)
        assert item.shipped_quantity == sum(order.shipped.values())

    invoices = {i.invoice_number: i for i in _all(app, "invoices", 50)}
    assert set(invoices) == set(story["invoices"])
    for order_id in story["orders"]:
        order = app.sales_order(order_id)
        for invoice in order.invoices:
            item = invoices[invoice["invoice_number"]]
            assert (item.order_id, item.order_number, item.total, item.net, item.tax,
                    item.due_on) == (order_id, order.number, invoice["total"],
                                     invoice["net"], invoice["tax"], invoice["due_on"])
            assert item.customer_id == str(order.customer_id)
            assert item.status == ("credited" if invoice["credited"] else
                                   "paid" if item.paid == item.total else "open")

    stock = {s.sku: s for s in _all(app, "stock_items", 50)}
    assert stock["NT-SENSOR-100"].available == D("400")  # 500 received, 100 shipped
    assert stock["NT-GATEWAY-200"].on_hand == D("6")
    assert stock["NT-GATEWAY-200"].status == "low"
    assert stock["NT-EMPTY"].status == "out"
    assert stock["NT-EMPTY"].value == D("0.00")
    assert stock["NT-CABLE-5M"].reserved == D("3")  # the open order's other three

    entries = _all(app, "journal_entries", 200)
    manual = [e for e in entries if e.manual]
    assert [(e.memo, e.status) for e in manual] == [
        ("Bank fees 50%_off", "posted"), ("Posted twice", "reversal"),
        ("Owner tops up the till", "reversed")]
    till = manual[2]
    assert manual[1].reverses == till.id
    assert till.reversed_by == manual[1].id
    assert (till.total, till.accounts, till.line_count) == (D("25.00"), ["1000", "3000"], 2)
    for entry in entries:
        aggregate = app.journal_entry(entry.id)
        assert (entry.date, entry.cause, entry.total) == (
            aggregate.date, aggregate.cause, aggregate.total)


def _ids(app: O2C, name: str, **kwargs: Any) -> list[str]:
    return [_key(item) for item in _all(app, name, 200, **kwargs)]


def test_status_filters(told: tuple[O2C, dict[str, Any]]) -> None:
    app, story = told
    new, qualified, disqualified = (story["leads"][i] for i in (4, 1, 2))
    assert set(_ids(app, "leads", status="open")) == {new, qualified, story["leads"][3]}
    assert _ids(app, "leads", status="disqualified") == [disqualified]
    assert _ids(app, "leads", status="qualified, disqualified") == [disqualified, qualified]

    deals = story["opportunities"]
    assert _ids(app, "opportunities", status="negotiation") == [deals[1]]
    assert set(_ids(app, "opportunities", status="open")) == {deals[1], deals[2]}
    assert set(_ids(app, "opportunities", status="won,lost")) == {deals[0], deals[3]}

    paid, credited, open_order, placed, cancelled = story["orders"]
    assert _ids(app, "sales_orders", status="placed") == [placed]
    assert _ids(app, "sales_orders", status="paid,cancelled") == [cancelled, paid]
    assert _ids(app, "sales_orders", status="partially_shipped") == [open_order]
    assert _ids(app, "sales_orders", status="shipped") == [credited]  # its invoice credited

    first, second, wrong, open_invoice = story["invoices"]
    assert set(_ids(app, "invoices", status="paid")) == {first, second}
    assert _ids(app, "invoices", status="credited") == [wrong]
    assert _ids(app, "invoices", status="open") == [open_invoice]
    assert _ids(app, "invoices", status="overdue") == []
    due = next(i for i in _all(app, "invoices", 50) if i.invoice_number == open_invoice).due_on
    later = due + timedelta(days=3)
    assert _ids(app, "invoices", status="overdue", today=later) == [open_invoice]
    assert _ids(app, "invoices", status="open", today=later) == [open_invoice]
    [item] = lists.invoices(app.db, app.places, status="overdue", today=later).items
    assert (item.status, item.days_overdue, item.open) == ("overdue", 3, item.total)
    assert _ids(app, "invoices", status="overdue", today=due) == []

    assert _ids(app, "stock_items", status="out") == ["NT-EMPTY"]
    assert _ids(app, "stock_items", status="low,out") == ["NT-EMPTY", "NT-GATEWAY-200"]
    assert _ids(app, "stock_items", status="in_stock") == ["NT-CABLE-5M", "NT-SENSOR-100"]
    assert _ids(app, "stock_items", status="low", low_at=D("400")) == [
        "NT-CABLE-5M", "NT-GATEWAY-200", "NT-SENSOR-100"]

    assert len(_ids(app, "journal_entries", status="reversed")) == 1
    assert len(_ids(app, "journal_entries", status="reversal")) == 1


def test_search_is_case_insensitive_and_literal(told: tuple[O2C, dict[str, Any]]) -> None:
    app, story = told
    assert [lead.company for lead in _all(app, "leads", 50, q="äRGER")] == ["Ärger GmbH"]
    assert [lead.company for lead in _all(app, "leads", 50, q="%")] == ["100% Widgets"]
    assert [lead.company for lead in _all(app, "leads", 50, q="n_1")] == []  # not "Person 1"
    assert [lead.company for lead in _all(app, "leads", 50, q="blue_")] == ["Blue_Sky"]
    assert len(_all(app, "leads", 50, q="WEB FORM")) == 3
    assert [c.name for c in _all(app, "customers", 50, q="NIMBUS.example")] == ["Nimbus Data"]
    assert [c.name for c in _all(app, "customers", 50, q="  zeta ")] == ["zeta labs"]
    # Deals, orders and invoices are found by their customer's name too.
    assert {o.title for o in _all(app, "opportunities", 50, q="apex")} == {"Apex pilot"}
    paid = story["orders"][0]
    assert _ids(app, "sales_orders", q=order_number(paid).lower()) == [paid]
    assert set(_ids(app, "sales_orders", q="Zeta Labs")) == set(story["orders"][2:4])
    first = story["invoices"][0]
    assert _ids(app, "invoices", q=first.lower()) == [first]
    assert set(_ids(app, "invoices", q=order_number(paid))) == set(story["invoices"][:2])
    assert _ids(app, "stock_items", q="cable") == ["NT-CABLE-5M"]
    assert _ids(app, "stock_items", q="nt-") == ["NT-CABLE-5M", "NT-EMPTY", "NT-GATEWAY-200",
                                                 "NT-SENSOR-100"]
    assert [e.memo for e in _all(app, "journal_entries", 50, q="50%_")] == ["Bank fees 50%_off"]
    assert {e.memo for e in _all(app, "journal_entries", 50, q="JournalEntry.Reversed")} == {
        "Posted twice"}
    nimbus = story["customers"][1]
    assert len(_ids(app, "opportunities", customer_id=nimbus)) == 3
    assert set(_ids(app, "sales_orders", customer_id=nimbus)) == set(story["orders"][1:5:3])


def test_pages_do_not_shift_when_items_are_recorded_meanwhile(app: O2C,
                                                              story: dict[str, Any]) -> None:
    projector = Projector(app.db, app.settings)
    first = lists.leads(app.db, app.places, limit=2)
    for n in range(3):
        app.capture_lead(CTX, f"Late {n}", "Late Ltd", f"late{n}@late.example", "web form")
    projector.catch_up()
    cursor, seen = first.next_cursor, [i.id for i in first.items]
    while cursor is not None:
        page = lists.leads(app.db, app.places, limit=2, cursor=cursor)
        seen += [i.id for i in page.items]
        cursor = page.next_cursor
    assert seen == list(reversed(story["leads"]))  # the newer ones come before page one
    assert len(lists.leads(app.db, app.places, limit=200).items) == 8


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"limit": True}, "limit"),
    ({"status": "nosuch"}, "status"), ({"status": "new,nosuch"}, "status"),
    ({"sort": "nosuch"}, "sort"), ({"q": "x" * 101}, "q"), ({"q": "a\x00b"}, "q"),
    ({"q": "a\nb"}, "q"), ({"cursor": "not a cursor"}, "cursor"),
    ({"cursor": "W10"}, "cursor"), ({"cursor": "x" * 2000}, "cursor")])
def test_bad_input_is_refused(told: tuple[O2C, dict[str, Any]], kwargs: dict[str, Any],
                              message: str) -> None:
    app, _ = told
    with pytest.raises(InvalidInputError, match=message):
        lists.leads(app.db, app.places, **kwargs)


def test_a_cursor_belongs_to_its_list_and_sort(told: tuple[O2C, dict[str, Any]]) -> None:
    app, _ = told
    cursor = lists.leads(app.db, app.places, limit=1).next_cursor
    assert cursor is not None
    with pytest.raises(InvalidInputError, match="cursor"):
        lists.customers(app.db, app.places, cursor=cursor)
    with pytest.raises(InvalidInputError, match="cursor"):
        lists.leads(app.db, app.places, cursor=cursor, sort="name")
    by_name = lists.leads(app.db, app.places, limit=1, sort="name").next_cursor
    assert by_name is not None
    with pytest.raises(InvalidInputError, match="cursor"):
        lists.leads(app.db, app.places, cursor=by_name)
    with pytest.raises(InvalidInputError, match="no status"):
        lists.customers(app.db, app.places, status="open")


def test_list_read_models_live_equal_rebuilt(app: O2C, story: dict[str, Any]) -> None:
    projector = Projector(app.db, app.settings)
    names = [model.name for model in LIST_MODELS]
    assert set(names) <= set(projector.names())
    live = {name: projector.digest(name) for name in names}
    rebuild(projector, names)
    assert {name: projector.digest(name) for name in names} == live
    pages = {name: [asdict(i) for i in _all(app, name, 200)] for name in lists.LISTS}
    rebuild(projector)
    assert {name: [asdict(i) for i in _all(app, name, 200)] for name in lists.LISTS} == pages


def test_empty_lists(app: O2C) -> None:
    Projector(app.db, app.settings).catch_up()
    for name, function in lists.LISTS.items():
        page = function(app.db, app.places)
        assert (page.items, page.next_cursor) == ([], None), name
