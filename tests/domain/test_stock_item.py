"""StockItem: receipts in FIFO cost layers, counts, reservations and issues."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from refusal import refused, replayed

from o2c.domain.errors import (
    CountBelowReservedError,
    InsufficientStockError,
    InvalidAmountError,
    InvalidInputError,
    InvalidQuantityError,
    InvalidStateError,
)
from o2c.domain.money import ZERO
from o2c.domain.stock_item import StockItem, check_sku, take_fifo
from strategies import invalid_amounts, invalid_quantities, invalid_skus, price_decimals, skus

ORDER, OTHER = uuid.uuid4(), uuid.uuid4()
D = Decimal


def two_layers() -> StockItem:
    """10 at 1.00, then 10 at 2.00: 30.00 of stock."""
    item = StockItem.register("w-1", "Widget")
    item.receive("10", "1.00")
    item.receive("10", "2.00")
    return item


def layers(item: StockItem) -> list[tuple[Decimal, Decimal]]:
    return [(layer["quantity"], layer["value"]) for layer in item.layers]


# Registering -------------------------------------------------------------------------


def test_register_names_the_sku_upper_cased_with_nothing_in_stock() -> None:
    item = StockItem.register(" ab-1.x_2 ", "  Cable, 3 m ")
    assert (item.sku, item.name) == ("AB-1.X_2", "Cable, 3 m")
    assert (item.on_hand, item.reserved, item.available, item.value) == (ZERO,) * 4
    assert item.id == StockItem.create_id("AB-1.X_2")  # addressed by SKU
    assert [type(e) for e in item.collect_events()] == [StockItem.Registered]


@given(skus)
def test_every_valid_sku_is_accepted_and_stable(sku: str) -> None:
    code = check_sku(sku)
    assert code == sku.upper()
    assert check_sku(code) == code


@given(invalid_skus)
def test_malformed_skus_are_refused(sku: str) -> None:
    with pytest.raises(InvalidInputError):
        StockItem.register(sku, "Name")


@pytest.mark.parametrize("name", ["", "  ", "x" * 201, "bad\x00name", None, 5])
def test_a_name_must_be_short_clean_text(name: object) -> None:
    with pytest.raises(InvalidInputError):
        StockItem.register("A-1", name)


# Receipts ----------------------------------------------------------------------------


def test_a_receipt_adds_a_cost_layer_valued_once_at_the_cent() -> None:
    item = StockItem.register("A-1", "Thing")
    value = item.receive("0.5", "0.33")  # 0.165 -> 0.16, half to even
    assert value == D("0.16")
    assert layers(item) == [(D("0.5"), D("0.16"))]
    assert (item.on_hand, item.value, item.last_unit_cost) == (D("0.5"), D("0.16"), D("0.33"))
    event = item.pending_events[-1]
    assert isinstance(event, StockItem.Received)
    assert (event.quantity, event.unit_cost, event.value) == (D("0.5"), D("0.33"), D("0.16"))


def test_free_stock_can_be_received_at_zero_cost() -> None:
    item = StockItem.register("A-1", "Sample")
    assert item.receive("5", "0") == ZERO
    assert item.on_hand == 5


@given(invalid_quantities)
def test_a_receipt_of_a_bad_quantity_is_refused_without_an_event(quantity: object) -> None:
    item = two_layers()
    refused(item, InvalidQuantityError, lambda: item.receive(quantity, "1.00"))


@given(invalid_amounts.filter(lambda v: v not in ("0", "0.00") and not (
    isinstance(v, int) and not isinstance(v, bool) and v == 0)))
def test_a_receipt_at_a_bad_unit_cost_is_refused_without_an_event(cost: object) -> None:
    item = two_layers()
    refused(item, InvalidAmountError, lambda: item.receive("1", cost))


# FIFO issues ---------------------------------------------------------------------------


def test_reserve_then_issue_takes_the_oldest_layer_first() -> None:
    item = two_layers()
    item.reserve(ORDER, "15")
    cost = item.issue(ORDER, "15")
    assert cost == D("20.00")  # 10 x 1.00 + 5 x 2.00
    assert layers(item) == [(D(5), D("10.00"))]
    assert (item.on_hand, item.reserved, item.value) == (D(5), ZERO, D("10.00"))
    assert item.reserved_for(ORDER) == ZERO
    assert item.reservations == {}
    event = item.pending_events[-1]
    assert isinstance(event, StockItem.Issued)
    assert (event.order_id, event.quantity, event.cost) == (ORDER, D(15), D("20.00"))


def test_a_partial_layer_take_is_rounded_and_the_layer_keeps_the_rest_exactly() -> None:
    item = StockItem.register("A-1", "Cable")
    item.receive("0.3", "33.33")  # 9.999 -> 10.00
    assert item.value == D("10.00")
    item.reserve(ORDER, "0.3")
    costs = [item.issue(ORDER, "0.1") for _ in range(3)]
    # 10.00/3 = 3.333.. -> 3.33; 6.67/2 = 3.335 -> 3.34 (half to even); the rest 3.33.
    assert costs == [D("3.33"), D("3.34"), D("3.33")]
    assert sum(costs) == D("10.00")  # nothing lost or made in rounding
    assert (item.on_hand, item.value, item.layers) == (ZERO, ZERO, [])


def test_an_issue_spanning_layers_takes_part_of_the_second() -> None:
    item = StockItem.register("A-1", "Thing")
    item.receive("2", "1.00")
    item.receive("3", "3.33")  # 9.99
    item.reserve(ORDER, "4")
    assert item.issue(ORDER, "4") == D("2.00") + D("6.66")
    assert layers(item) == [(D(1), D("3.33"))]


def test_an_issue_beyond_the_orders_reservation_is_refused() -> None:
    item = two_layers()
    item.reserve(ORDER, "5")
    item.reserve(OTHER, "5")
    refused(item, InsufficientStockError, lambda: item.issue(ORDER, "6"))
    refused(item, InsufficientStockError, lambda: item.issue(uuid.uuid4(), "1"))
    refused(item, InvalidQuantityError, lambda: item.issue(ORDER, "0"))
    assert item.issue(ORDER, "5") == D("5.00")
    refused(item, InsufficientStockError, lambda: item.issue(ORDER, "1"))  # all shipped
    assert item.reserved_for(OTHER) == 5


def test_take_fifo_refuses_more_than_the_layers_hold() -> None:
    item = two_layers()
    with pytest.raises(InsufficientStockError):
        take_fifo(item.layers, D(21), 2)
    assert layers(item) == [(D(10), D("10.00")), (D(10), D("20.00"))]  # untouched


layer_lists = st.lists(st.tuples(st.integers(min_value=1, max_value=500).map(D),
                                 price_decimals), min_size=1, max_size=6)


@given(layer_lists, st.data())
def test_a_fifo_take_conserves_value_exactly(received: list[tuple[Decimal, Decimal]],
                                             data: st.DataObject) -> None:
    item = StockItem.register("P-1", "Prop")
    for qty, cost in received:
        item.receive(str(qty), str(cost))
    total_qty, total_value = item.on_hand, item.value
    take = data.draw(st.decimals(min_value=D("0.001"), max_value=total_qty, places=3))
    remaining, cost = take_fifo(item.layers, take, 2)
    assert cost == cost.quantize(D("0.01"))
    assert cost + sum((layer["value"] for layer in remaining), ZERO) == total_value
    assert sum((layer["quantity"] for layer in remaining), ZERO) == total_qty - take
    assert all(layer["quantity"] > 0 and layer["value"] >= 0 for layer in remaining)
    # Oldest first: what is left is the newest layers, the first of them perhaps in part.
    kept = item.layers[len(item.layers) - len(remaining):]
    assert remaining[1:] == kept[1:]
    if remaining:
        assert remaining[0]["unit_cost"] == kept[0]["unit_cost"]


@given(st.lists(st.tuples(st.sampled_from(["receive", "ship", "count"]),
                          st.integers(min_value=1, max_value=40), price_decimals),
                min_size=1, max_size=25))
def test_stock_value_is_receipts_less_what_left_and_replays_identically(
        steps: list[tuple[str, int, Decimal]]) -> None:
    item = StockItem.register("P-1", "Prop")
    received = taken = ZERO
    for action, number, cost in steps:
        if action == "receive":
            received += item.receive(str(number), str(cost))
        elif action == "ship" and item.available >= number:
            order = uuid.uuid4()
            item.reserve(order, str(number))
            taken += item.issue(order, str(number))
        elif action == "count" and D(number) != item.on_hand:
            change = item.adjust(str(number), "cycle count")
            received, taken = (received + change, taken) if change > 0 else (
                received, taken - change)
        assert item.value == received - taken
        assert item.on_hand == sum((layer["quantity"] for layer in item.layers), ZERO)
        assert item.on_hand >= 0
        assert item.value >= 0
    state = item.state_digest()
    assert replayed(item).state_digest() == state  # replaying the events takes the same costs


# Counts -------------------------------------------------------------------------------


def test_a_count_below_the_books_is_a_loss_at_fifo_cost() -> None:
    item = two_layers()
    value = item.adjust("5", "damaged pallet")
    assert value == D("-20.00")  # 15 gone from the oldest layers: 10 x 1.00 + 5 x 2.00
    assert layers(item) == [(D(5), D("10.00"))]
    assert item.on_hand == 5
    event = item.pending_events[-1]
    assert isinstance(event, StockItem.Adjusted)
    assert (event.counted_quantity, event.difference, event.value, event.reason) == (
        D(5), D(-15), D("-20.00"), "damaged pallet")


def test_a_count_above_the_books_is_a_gain_at_the_last_unit_cost() -> None:
    item = two_layers()
    assert item.adjust("23", "found in aisle 4") == D("6.00")  # 3 x 2.00
    assert layers(item)[-1] == (D(3), D("6.00"))
    assert (item.on_hand, item.value) == (D(23), D("36.00"))


def test_a_count_to_zero_writes_off_everything() -> None:
    item = two_layers()
    assert item.adjust("0", "fire") == D("-30.00")
    assert (item.on_hand, item.value, item.layers) == (ZERO, ZERO, [])


def test_a_gain_on_a_never_received_item_is_valued_at_zero() -> None:
    item = StockItem.register("A-1", "Thing")
    assert item.adjust("4", "found") == ZERO
    assert item.on_hand == 4


def test_a_count_below_what_is_reserved_is_refused() -> None:
    item = two_layers()
    item.reserve(ORDER, "12")
    refused(item, CountBelowReservedError, lambda: item.adjust("11", "short"),
            match="reserved")
    assert item.adjust("12", "short") == D("-8.00")  # down to exactly the reserved is fine
    assert item.available == ZERO


def test_a_count_equal_to_the_books_or_malformed_is_refused() -> None:
    item = two_layers()
    refused(item, InvalidStateError, lambda: item.adjust("20", "recount"))
    refused(item, InvalidQuantityError, lambda: item.adjust("-1", "recount"))
    refused(item, InvalidQuantityError, lambda: item.adjust("1.0001", "recount"))
    refused(item, InvalidQuantityError, lambda: item.adjust("NaN", "recount"))
    refused(item, InvalidInputError, lambda: item.adjust("3", ""))  # a count needs a reason


# Reservations ---------------------------------------------------------------------------


def test_reservations_add_up_per_order_and_release_returns_them() -> None:
    item = two_layers()
    item.reserve(ORDER, "4")
    item.reserve(ORDER, "1")
    item.reserve(OTHER, "7")
    assert (item.reserved, item.available) == (D(12), D(8))
    assert item.reserved_for(ORDER) == 5
    assert item.release(ORDER) == 5
    assert (item.reserved, item.reserved_for(ORDER)) == (D(7), ZERO)
    assert str(ORDER) not in item.reservations
    event = item.pending_events[-1]
    assert isinstance(event, StockItem.Released)
    assert (event.order_id, event.quantity) == (ORDER, D(5))
    assert item.on_hand == 20  # releasing moves nothing


def test_a_reservation_beyond_what_is_available_is_refused() -> None:
    item = two_layers()
    item.reserve(OTHER, "15")
    refused(item, InsufficientStockError, lambda: item.reserve(ORDER, "5.001"))
    refused(item, InvalidQuantityError, lambda: item.reserve(ORDER, "0"))
    refused(item, InvalidQuantityError, lambda: item.reserve(ORDER, "-1"))
    item.reserve(ORDER, "5")  # exactly what is left
    assert item.available == ZERO


def test_releasing_an_order_with_nothing_reserved_is_refused() -> None:
    item = two_layers()
    refused(item, InvalidStateError, lambda: item.release(ORDER))
    item.reserve(ORDER, "2")
    item.release(ORDER)
    refused(item, InvalidStateError, lambda: item.release(ORDER))


def test_the_whole_story_replays_to_the_same_state() -> None:
    item = two_layers()
    item.reserve(ORDER, "3")
    item.issue(ORDER, "2")
    item.adjust("13", "count")
    item.receive("1.5", "7.77")
    item.release(ORDER)
    state = item.state_digest()
    rebuilt = replayed(item)
    assert rebuilt.state_digest() == state
    assert rebuilt.layers == item.layers
    assert rebuilt.reservations == item.reservations == {}
