"""The book currency, kept in the log: recorded on the first start, checked on every one."""

from __future__ import annotations

import contextlib

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from o2c.application.engine import Engine
from o2c.domain.book import Book
from o2c.persistence.audit_rows import CommandRecord


def open_book(engine: Engine, currency: str, *, record: bool = True) -> Book | None:
    """The store's ``Book``, recording it in ``currency`` if this is its first start
    (without ``record``, only checked: None if nothing is recorded yet).
    ``CurrencyMismatchError`` if the books were opened in another currency."""
    book = _load(engine)
    if book is None and record:
        with contextlib.suppress(IntegrityError):  # another process just opened them
            engine.save(Book.open(currency),
                        o2c=CommandRecord(actor="system", command="open_books"))
        book = _load(engine)
    if book is not None:
        book.check_currency(currency)
    return book


def _load(engine: Engine) -> Book | None:
    try:
        found: object = engine.repository.get(Book.create_id())
    except AggregateNotFoundError:
        return None
    assert isinstance(found, Book)
    return found
