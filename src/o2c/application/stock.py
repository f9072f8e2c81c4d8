"""Use cases of the warehouse's item master: SKUs, receipts and counts."""

from __future__ import annotations

import contextlib

from o2c.application.base import UseCaseBase, effective_date
from o2c.application.runner import Attempt, Outcome, Result, command
from o2c.domain import posting_rules
from o2c.domain.errors import AlreadyExistsError, InvalidInputError
from o2c.domain.stock_item import StockItem, check_sku


class Stock(UseCaseBase):
    """Stock items (warehouse)."""

    @command("register_stock_item")
    def register_stock_item(self, run: Attempt, sku: object, name: object) -> Outcome:
        """Adds a SKU to the item master."""
        item = StockItem.register(sku, name)
        if self.exists(item.id):
            raise AlreadyExistsError(f"stock item {item.sku} already exists")
        return Result(item.sku, item.version), [item]

    @command("receive_stock")
    def receive_stock(self, run: Attempt, sku: object, quantity: object,
                      unit_cost: object, date: object = None) -> Outcome:
        """Receives goods at cost: Dr Inventory, Cr Accounts Payable, on ``date`` (the
        business date when None; never later)."""
        when = effective_date(run, date)
        item = self._held_item(run, sku)
        value = item.receive(quantity, unit_cost, places=self.places)
        entry = self.books.caused_by(posting_rules.stock_received(value), when=when,
                                     memo=f"Receipt of {quantity} {item.sku}", source=item)
        return Result(item.sku, item.version, extra={"value": str(value)}), [item, *entry]

    @command("adjust_stock")
    def adjust_stock(self, run: Attempt, sku: object, counted_quantity: object,
                     reason: object, date: object = None) -> Outcome:
        """Books a physical count: a loss to Inventory Adjustments, or a gain from it, on
        ``date`` (the business date when None; never later)."""
        when = effective_date(run, date)
        item = self._held_item(run, sku)
        value = item.adjust(counted_quantity, reason, places=self.places)
        entry = self.books.caused_by(posting_rules.stock_counted(value), when=when,
                                     memo=f"Count of {item.sku}: {reason}", source=item)
        return Result(item.sku, item.version, extra={"value": str(value)}), [item, *entry]

    def _held_item(self, run: Attempt, sku: object) -> StockItem:
        """A stock item about to be written, under its lock if it is hot."""
        with contextlib.suppress(InvalidInputError):  # the read that follows refuses it
            run.hold([StockItem.create_id(check_sku(sku))])
        item = self.stock_item(sku)
        run.check_version(item)
        return item
