"""StockItem: one SKU in the warehouse, valued at cost in FIFO layers.

Each receipt adds a cost layer carrying its quantity and its value in the
book currency (quantity x unit cost, rounded to the cent once, at receipt).
Issues and count losses take from the oldest layers first; taking part of a
layer takes its value pro rata, rounded, and leaves the rest in the layer, so
the sum of layer values is always exactly what the Inventory account says.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import money, values
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import (
    CountBelowReservedError,
    InsufficientStockError,
    InvalidInputError,
    InvalidStateError,
    LimitExceededError,
)
from o2c.domain.money import ZERO, quantize

_NAMESPACE = uuid.UUID("6f1d3f0e-6c55-4d43-9d2e-1d1a5e0c0a01")
Layer = dict[str, Decimal]
#: The longest SKU.
MAX_SKU = 64


def check_sku(sku: object) -> str:
    """A SKU: 1 to 64 characters of letters, digits, '-', '_' or '.'."""
    code = values.text(sku, "sku", max_length=MAX_SKU)
    if not all(ch.isalnum() or ch in "-_." for ch in code):
        raise InvalidInputError(f"sku may hold only letters, digits, '-', '_' and '.': {code!r}")
    return code.upper()


#: The most lines one document (order, shipment, return, authorisation) may carry.
MAX_DOCUMENT_LINES = 500


def check_sku_lines(lines: Iterable[Mapping[str, object]], document: str, *,
                    twice: str = "",
                    more: Callable[[int, dict[str, object]], dict[str, Any]] | None = None,
                    ) -> list[dict[str, Any]]:
    """The lines of a ``document`` of stock movements ("a shipment", "a return"...):
    at least one, at most ``MAX_DOCUMENT_LINES``, distinct SKUs (``twice`` says what to do
    instead, after "appears twice"), each with a positive quantity, plus whatever
    ``more(number, line)`` checks and returns for that line."""
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, item in enumerate(lines, start=1):
        if number > MAX_DOCUMENT_LINES:
            raise InvalidInputError(f"{document} has at most {MAX_DOCUMENT_LINES} lines")
        line = values.mapping(item, f"line {number}")
        sku = check_sku(line.get("sku"))
        if sku in seen:
            raise InvalidInputError(f"line {number}: SKU {sku} appears twice{twice}")
        seen.add(sku)
        checked.append({"sku": sku, **(more(number, line) if more else {}),
                        "quantity": money.quantity(line.get("quantity"),
                                                   what=f"line {number} quantity")})
    if not checked:
        raise InvalidInputError(f"{document} needs at least one line")
    return checked


def take_fifo(layers: list[Layer], quantity: Decimal, places: int) -> tuple[list[Layer], Decimal]:
    """Takes ``quantity`` from the oldest layers; returns the layers left and the cost taken."""
    left, cost, remaining = quantity, ZERO, []
    for layer in layers:
        if left == ZERO:
            remaining.append(layer)
            continue
        if layer["quantity"] <= left:
            left -= layer["quantity"]
            cost += layer["value"]
            continue
        part = quantize(layer["value"] * left / layer["quantity"], places)
        cost += part
        remaining.append({"quantity": layer["quantity"] - left, "value": layer["value"] - part,
                          "unit_cost": layer["unit_cost"]})
        left = ZERO
    if left != ZERO:
        raise InsufficientStockError(f"{quantity} requested but only {quantity - left} on hand")
    return remaining, quantize(cost, places)


class StockItem(O2CAggregate):
    """A stocked product: what is on hand, what is promised, and what it cost."""

    class Registered(Aggregate.Created):
        """A SKU was added to the item master."""

        class_version = 1
        sku: str
        name: str

    class Received(Aggregate.Event):
        """Goods arrived at a unit cost, adding a FIFO layer of this value."""

        class_version = 1
        quantity: Decimal
        unit_cost: Decimal
        value: Decimal

    class Adjusted(Aggregate.Event):
        """A count differed from the books: a loss (negative) or a gain, at this value."""

        class_version = 1
        counted_quantity: Decimal
        difference: Decimal
        value: Decimal
        reason: str

    class Reserved(Aggregate.Event):
        """Stock was promised to a confirmed sales order."""

        class_version = 1
        order_id: UUID
        quantity: Decimal

    class Released(Aggregate.Event):
        """A promise was withdrawn (the order was cancelled)."""

        class_version = 1
        order_id: UUID
        quantity: Decimal

    class Issued(Aggregate.Event):
        """Reserved stock left the warehouse on a shipment, at this FIFO cost."""

        class_version = 1
        order_id: UUID
        quantity: Decimal
        cost: Decimal

    class ReturnedToStock(Aggregate.Event):
        """Goods a customer returned (sound, not damaged) came back into stock at the
        cost they left at for that order, as a new FIFO layer of this value."""

        class_version = 1
        order_id: UUID
        quantity: Decimal
        value: Decimal

    @staticmethod
    def create_id(sku: str) -> UUID:
        """Stock items are addressed by SKU: the id is derived from it."""
        return uuid.uuid5(_NAMESPACE, "sku:" + sku)

    @event(Registered)
    def __init__(self, sku: str, name: str) -> None:
        self.sku = sku
        self.name = name
        self.on_hand = ZERO
        self.reserved = ZERO
        self.layers: list[Layer] = []
        self.reservations: dict[str, Decimal] = {}
        self.last_unit_cost = ZERO

    @classmethod
    def register(cls, sku: object, name: object) -> StockItem:
        """Adds a SKU to the item master."""
        return cls(sku=check_sku(sku), name=values.text(name, "name"))

    @property
    def available(self) -> Decimal:
        """On hand and not promised to any order."""
        return self.on_hand - self.reserved

    @property
    def value(self) -> Decimal:
        """The cost value of what is on hand (sum of the FIFO layers)."""
        return sum((layer["value"] for layer in self.layers), ZERO)

    def reserved_for(self, order_id: UUID) -> Decimal:
        """How much is promised to one order."""
        return self.reservations.get(str(order_id), ZERO)

    # Receipts -----------------------------------------------------------------

    def receive(self, quantity: object, unit_cost: object, *, places: int = 2) -> Decimal:
        """Puts goods into stock at a unit cost; returns the value added."""
        qty = money.quantity(quantity)
        cost = money.money(unit_cost, places=places, what="unit_cost", allow_zero=True)
        value = money.check_amount(quantize(qty * cost, places),
                                   "the receipt's value (quantity x unit_cost)")
        self._received(quantity=qty, unit_cost=cost, value=value)
        return value

    @event(Received)
    def _received(self, quantity: Decimal, unit_cost: Decimal, value: Decimal) -> None:
        self.layers.append({"quantity": quantity, "value": value, "unit_cost": unit_cost})
        self.on_hand += quantity
        self.last_unit_cost = unit_cost

    # Counts -------------------------------------------------------------------

    def adjust(self, counted_quantity: object, reason: object, *, places: int = 2) -> Decimal:
        """Sets on-hand to a physical count; returns the signed value of the difference."""
        counted = money.quantity(counted_quantity, what="counted_quantity", allow_zero=True)
        why = values.text(reason, "reason", max_length=values.MAX_LONG_TEXT)
        if counted < self.reserved:
            raise CountBelowReservedError(
                f"{self.sku}: counted {counted} is below the {self.reserved} reserved; "
                "cancel or ship those orders first")
        difference = counted - self.on_hand
        if difference == ZERO:
            raise InvalidStateError(f"{self.sku}: the count equals the books ({counted})")
        if difference < ZERO:
            _, cost = take_fifo(self.layers, -difference, places)
            value = -cost
        else:
            value = quantize(difference * self.last_unit_cost, places)
        money.check_amount(value, f"{self.sku}: the count's value", error=LimitExceededError)
        self._adjusted(counted_quantity=counted, difference=difference, value=value, reason=why)
        return value

    @event(Adjusted)
    def _adjusted(self, counted_quantity: Decimal, difference: Decimal, value: Decimal,
                  reason: str) -> None:
        if difference < ZERO:
            self.layers = _take_exactly(self.layers, -difference, -value)
        else:
            self.layers.append({"quantity": difference, "value": value,
                                "unit_cost": self.last_unit_cost})
        self.on_hand = counted_quantity

    # Reservations -------------------------------------------------------------

    def check_reservable(self, quantity: Decimal) -> None:
        """Refuses a reservation larger than what is available."""
        if quantity > self.available:
            raise InsufficientStockError(
                f"{self.sku}: {quantity} wanted, {self.available} available")

    def reserve(self, order_id: UUID, quantity: object) -> None:
        """Promises available stock to an order."""
        qty = money.quantity(quantity)
        self.check_reservable(qty)
        self._reserved(order_id=order_id, quantity=qty)

    @event(Reserved)
    def _reserved(self, order_id: UUID, quantity: Decimal) -> None:
        key = str(order_id)
        self.reservations[key] = self.reservations.get(key, ZERO) + quantity
        self.reserved += quantity

    def release(self, order_id: UUID) -> Decimal:
        """Withdraws everything still promised to an order; returns how much."""
        qty = self.reserved_for(order_id)
        if qty == ZERO:
            raise InvalidStateError(f"{self.sku}: nothing is reserved for order {order_id}")
        self._released(order_id=order_id, quantity=qty)
        return qty

    @event(Released)
    def _released(self, order_id: UUID, quantity: Decimal) -> None:
        self._unreserve(order_id, quantity)

    def _unreserve(self, order_id: UUID, quantity: Decimal) -> None:
        key = str(order_id)
        left = self.reservations[key] - quantity
        if left:
            self.reservations[key] = left
        else:
            del self.reservations[key]
        self.reserved -= quantity

    # Issues -------------------------------------------------------------------

    def issue(self, order_id: UUID, quantity: object, *, places: int = 2) -> Decimal:
        """Ships reserved stock for an order; returns its FIFO cost."""
        qty = money.quantity(quantity)
        if qty > self.reserved_for(order_id):
            raise InsufficientStockError(
                f"{self.sku}: {qty} to ship but {self.reserved_for(order_id)} reserved "
                "for this order")
        _, cost = take_fifo(self.layers, qty, places)
        money.check_amount(cost, f"{self.sku}: the cost of the issue", error=LimitExceededError)
        self._issued(order_id=order_id, quantity=qty, cost=cost)
        return cost

    @event(Issued)
    def _issued(self, order_id: UUID, quantity: Decimal, cost: Decimal) -> None:
        self.layers = _take_exactly(self.layers, quantity, cost)
        self.on_hand -= quantity
        self._unreserve(order_id, quantity)

    # Returns ------------------------------------------------------------------

    def restock(self, order_id: UUID, quantity: Decimal, value: Decimal) -> None:
        """Puts goods returned on an order back into stock at ``value`` (the cost they
        left at, worked out by the order): a new, newest FIFO layer."""
        if quantity <= ZERO or value < ZERO:
            raise InvalidInputError(f"{self.sku}: a restock needs a positive quantity and a "
                                    "value of zero or more")
        self._returned_to_stock(order_id=order_id, quantity=quantity, value=value)

    @event(ReturnedToStock)
    def _returned_to_stock(self, order_id: UUID, quantity: Decimal, value: Decimal) -> None:
        self.layers.append({"quantity": quantity, "value": value,
                            "unit_cost": quantize(value / quantity, _places_of(value))})
        self.on_hand += quantity

    def state_digest(self) -> dict[str, Any]:
        """The state a test compares, as plain values."""
        return {"sku": self.sku, "on_hand": self.on_hand, "reserved": self.reserved,
                "value": self.value}


def _take_exactly(layers: list[Layer], quantity: Decimal, cost: Decimal) -> list[Layer]:
    # Replays the FIFO take the command computed; a different cost would mean
    # the rounding rule changed since the event was recorded.
    remaining, taken = take_fifo(layers, quantity, places=_places_of(cost))
    if taken != cost:
        raise AssertionError(f"FIFO replay took {taken}, the event recorded {cost}")
    return remaining


def _places_of(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)
