"""Return authorisations (issue 13, part 3): an RMA on the order authorises invoiced goods
to come back, within what may still be returned less what open RMAs await; a return
received against it stays within what it still authorises and lowers it; an RMA with
goods still to come can be cancelled. Authorising posts nothing -- on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from o2c.application import O2C, Context
from o2c.domain.errors import (
    InvalidInputError,
    InvalidStateError,
    NotFoundError,
    VersionMismatchError,
)
from o2c.domain.returns import NotAuthorisedError, NotInvoicedError, OverReturnError
from o2c.domain.sales_order import SalesOrder
from o2c.domain.stock_item import StockItem
from support.books import Books

D = Decimal
TODAY = date(2026, 3, 20)
CTX = Context(actor="test", today=TODAY)


def invoiced_order(app: O2C) -> str:
    """An order of 10 S-1 and 5 S-2: 6 S-1 and 5 S-2 shipped and invoiced, 2 more S-1
    shipped and not invoiced."""
    for sku in ("S-1", "S-2"):
        if not app.exists(StockItem.create_id(sku)):
            app.register_stock_item(CTX, sku, sku)
            app.receive_stock(CTX, sku, "100", "4.00")
    customer = app.register_customer(CTX, "Buyer Ltd", "buyer@example.com").id
    order = app.place_sales_order(CTX, customer, [
        {"sku": "S-1", "quantity": "10", "unit_price": "10.00"},
        {"sku": "S-2", "quantity": "5", "unit_price": "20.00"}]).id
    app.confirm_order(CTX, order)
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "6"},
                                {"sku": "S-2", "quantity": "5"}], date="2026-03-01")
    app.invoice_order(CTX, order, date="2026-03-02")
    app.ship_order(CTX, order, [{"sku": "S-1", "quantity": "2"}], date="2026-03-03")
    return order


def outstanding(app: O2C, order: str, rma: str) -> dict[str, Decimal]:
    found = next(r for r in app.sales_order(order).authorisations if r["rma_number"] == rma)
    return {line["sku"]: line["quantity"] - found["received"].get(line["sku"], D(0))
            for line in found["lines"]}


def test_an_rma_is_numbered_per_order_posts_nothing_and_reserves_its_goods(app: O2C) -> None:
    order = invoiced_order(app)
    head = app.db.head()
    done = app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "4"}],
                                "Wrong model", date="2026-03-10")
    assert done.extra == {"rma_number": "RMA-1", "date": "2026-03-10"}
    events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(
        start=head + 1, limit=100)]
    assert [type(e) for e in events] == [SalesOrder.ReturnAuthorised]  # no postings
    so = app.sales_order(order)
    assert so.returned["S-1"] == 0
    assert so.authorised_outstanding() == {"S-1": D(4), "S-2": D(0)}
    # 6 invoiced, 4 awaited: 3 more is beyond what is invoiced and not yet authorised.
    with pytest.raises(NotInvoicedError):
        app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "3"}], "More")
    assert app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "2"},
                                             {"sku": "S-2", "quantity": "5"}],
                                "Faulty").extra["rma_number"] == "RMA-2"
    with pytest.raises(OverReturnError):  # 8 shipped, 6 awaited, 3 more
        app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "3"}], "More")
    with pytest.raises(NotInvoicedError):
        app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "1"}], "More")
    Books(app).check()


def test_receiving_against_an_rma_lowers_it_until_received(app: O2C) -> None:
    order = invoiced_order(app)
    app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "3"},
                                      {"sku": "S-2", "quantity": "1"}], "Faulty batch")
    done = app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "2"}],
                            authorisation="RMA-1")
    assert done.extra["authorisation"] == "RMA-1"
    assert done.extra["total"] == "21.60"  # 2 x 10.00 + 8%
    assert outstanding(app, order, "RMA-1") == {"S-1": D(1), "S-2": D(1)}
    head = app.db.head()
    for lines, error in (
            ([{"sku": "S-1", "quantity": "2"}], NotAuthorisedError),  # 1 left
            ([{"sku": "S-2", "quantity": "1"}, {"sku": "S-1", "quantity": "1.5"}],
             NotAuthorisedError)):
        with pytest.raises(error):
            app.return_goods(CTX, order, lines, authorisation="RMA-1")
    with pytest.raises(InvalidInputError):  # no such RMA
        app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"}], authorisation="RMA-9")
    with pytest.raises(InvalidInputError):  # before the authorisation
        app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"}], date="2026-03-04",
                         authorisation="RMA-1")
    assert app.db.head() == head
    app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"},
                                  {"sku": "S-2", "quantity": "1", "damaged": True}],
                     authorisation="RMA-1")
    so = app.sales_order(order)
    rma = so.authorisations[0]
    assert rma["returns"] == [1, 2]
    assert so.authorised_outstanding() == {"S-1": D(0), "S-2": D(0)}
    assert so.returned == {"S-1": D(3), "S-2": D(1)}
    head = app.db.head()
    with pytest.raises(NotAuthorisedError):  # fully received
        app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"}], authorisation="RMA-1")
    with pytest.raises(InvalidStateError):  # fully received: nothing to cancel
        app.cancel_return_authorisation(CTX, order, "RMA-1", "Too late")
    assert app.db.head() == head
    # Unauthorised returns work as before.
    app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"}])
    assert app.sales_order(order).returned["S-1"] == D(4)
    Books(app).check()


def test_a_cancelled_rma_frees_what_it_still_authorised(app: O2C) -> None:
    order = invoiced_order(app)
    app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "6"}], "Customer unsure")
    app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"}], authorisation="RMA-1")
    with pytest.raises(NotInvoicedError):
        app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "1"}], "Another")
    head = app.db.head()
    with pytest.raises(NotFoundError):
        app.cancel_return_authorisation(CTX, order, "RMA-2", "No such")
    with pytest.raises(InvalidInputError):
        app.cancel_return_authorisation(CTX, order, "RMA-1", "  ")
    assert app.db.head() == head
    app.cancel_return_authorisation(CTX, order, "RMA-1", "Customer keeps the rest")
    assert app.db.head() == head + 1  # one event, no postings
    rma = app.sales_order(order).authorisations[0]
    assert (rma["cancelled"], rma["cancel_reason"], rma["received"]) == (
        True, "Customer keeps the rest", {"S-1": D(1)})
    with pytest.raises(InvalidStateError):
        app.cancel_return_authorisation(CTX, order, "RMA-1", "Again")
    with pytest.raises(NotAuthorisedError):
        app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"}], authorisation="RMA-1")
    # 6 invoiced, 1 returned, nothing awaited: 5 may be authorised again.
    assert app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "5"}],
                                "Again").extra["rma_number"] == "RMA-2"
    Books(app).check()


def test_refused_authorisations_record_nothing(app: O2C) -> None:
    order = invoiced_order(app)
    head = app.db.head()
    for lines, reason, error in (
            ([{"sku": "S-1", "quantity": "7"}], "x", NotInvoicedError),
            ([{"sku": "S-1", "quantity": "9"}], "x", OverReturnError),
            ([{"sku": "NOPE", "quantity": "1"}], "x", InvalidInputError),
            ([{"sku": "S-1", "quantity": "0"}], "x", InvalidInputError),
            ([{"sku": "S-1", "quantity": "1"}, {"sku": "s-1", "quantity": "1"}], "x",
             InvalidInputError),
            ([], "x", InvalidInputError),
            ([{"sku": "S-1", "quantity": "1"}], "", InvalidInputError)):
        with pytest.raises(error):
            app.authorise_return(CTX, order, lines, reason)
    with pytest.raises(InvalidInputError):  # future
        app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "1"}], "x",
                             date="2026-03-21")
    with pytest.raises(InvalidInputError):  # before the latest shipment
        app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "1"}], "x",
                             date="2026-03-02")
    version = app.sales_order(order).version
    stale = Context(actor="test", today=TODAY, expected_version=version - 1)
    with pytest.raises(VersionMismatchError):
        app.authorise_return(stale, order, [{"sku": "S-1", "quantity": "1"}], "x")
    assert app.db.head() == head
    assert app.sales_order(order).authorisations == []


def test_a_retried_authorisation_records_nothing_more(app: O2C) -> None:
    order = invoiced_order(app)
    ctx = Context(actor="test", today=TODAY, idempotency_key="rma-1")
    first = app.authorise_return(ctx, order, [{"sku": "S-1", "quantity": "1"}], "Dent")
    head = app.db.head()
    again = app.authorise_return(ctx, order, [{"sku": "S-1", "quantity": "1"}], "Dent")
    assert app.db.head() == head
    assert again.extra == first.extra
    keyed = Context(actor="test", today=TODAY, idempotency_key="ret-rma-1")
    first = app.return_goods(keyed, order, [{"sku": "S-1", "quantity": "1"}],
                             authorisation="RMA-1")
    head = app.db.head()
    assert app.return_goods(keyed, order, [{"sku": "S-1", "quantity": "1"}],
                            authorisation="RMA-1").extra == first.extra
    assert app.db.head() == head
    assert len(app.sales_order(order).authorisations) == 1


def test_replay_gives_the_same_authorisations(app: O2C) -> None:
    order = invoiced_order(app)
    app.authorise_return(CTX, order, [{"sku": "S-1", "quantity": "2"}], "A")
    app.authorise_return(CTX, order, [{"sku": "S-2", "quantity": "2"}], "B")
    app.return_goods(CTX, order, [{"sku": "S-1", "quantity": "1"}], authorisation="RMA-1")
    app.cancel_return_authorisation(CTX, order, "RMA-2", "C")
    so = app.sales_order(order)
    replayed: SalesOrder | None = None
    for notification in app.recorder.select_notifications(start=1, limit=1_000_000):
        event = app.mapper.to_domain_event(notification)
        if isinstance(event, SalesOrder.Event) and str(event.originator_id) == order:
            replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.authorisations == so.authorisations
    assert [r["cancelled"] for r in so.authorisations] == [False, True]
    assert so.authorisations[0]["received"] == {"S-1": D(1)}
