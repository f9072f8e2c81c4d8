"""The application service: ``O2C``, every use case of the contract on one log.

Each use case loads the aggregates it needs, lets the domain check every rule
(a refused command raises and records nothing), and returns every changed
aggregate (business aggregates and the journal entries they cause), which the
command runner saves in one atomic write together with the actor, the
idempotency key and the answer. The use cases live by business area in
``crm``, ``orders``, ``stock`` and ``ledger``; ``O2C`` puts them together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from o2c.application.activities import Activities
from o2c.application.book import open_book
from o2c.application.books import Books
from o2c.application.crm import CRM
from o2c.application.engine import Engine
from o2c.application.ledger import Ledger
from o2c.application.orders import Orders
from o2c.application.pricing import Pricing
from o2c.application.returns import Returns
from o2c.application.runner import CommandRunner
from o2c.application.stock import Stock
from o2c.config import Settings
from o2c.domain import ledger_account as chart
from o2c.domain.accounting_period import AccountingPeriods
from o2c.domain.errors import InvalidInputError, NotFoundError
from o2c.domain.ledger_account import LedgerAccount
from o2c.domain.values import a_date, text
from o2c.persistence.locks import AggregateLocks
from o2c.persistence.sql import Database


class O2C(CRM, Orders, Stock, Ledger, Activities, Pricing, Returns):
    """Order to cash: the use cases over one event-sourced log."""

    def __init__(self, settings: Settings, *, env: Mapping[str, str],
                 locks: AggregateLocks | None = None, record_opening: bool = True) -> None:
        """Built by ``o2c.bootstrap.build_app``: ``env`` is eventsourcing's environment
        for the store, ``locks`` the hot-aggregate locks (none: no contention);
        without ``record_opening`` (a command that only reads) nothing is recorded on
        opening: the book currency is only checked, the chart taken as it is."""
        Engine.__init__(self, env)
        self.settings = settings
        self.places = settings.places
        self.db = Database(self.recorder, owner=self)
        self.locks = locks or AggregateLocks()
        self.books = Books(self, self.places)
        self.runner = CommandRunner(self, self.db, self.locks)
        self.book = open_book(self, settings.currency, record=record_opening)
        if record_opening:
            self.books.ensure_chart()

    def close(self) -> None:
        self.locks.close()
        super().close()

    def ledger_account(self, code: object) -> LedgerAccount:
        """A ledger account by code."""
        try:
            checked = chart.check_code(code)
        except InvalidInputError:
            raise NotFoundError(f"no ledger account {code!r}") from None
        return self.get(LedgerAccount, LedgerAccount.create_id(checked),
                        f"ledger account {checked}")

    def periods(self) -> AccountingPeriods | None:
        """How far the books are closed (None until a period is first closed)."""
        return self.books.periods()


def parse_date(value: object, what: str) -> date:
    """A date argument of a query or command, e.g. ``as_of``."""
    return a_date(text(value, what) if not isinstance(value, date) else value, what)
