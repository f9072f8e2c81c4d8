"""What every read model is made of: tables, the events handed to handlers, the rows
they read and write, and the ``ReadModel`` base class.

Each read model (one module each: ``pipeline``, ``inventory``, ``trial_balance``,
``receivables``, ``order_status``; listed in ``read_models``) owns its tables
(money in minor units of the book currency, quantities in thousandths, both as
integers so sums in SQL stay exact) and a tracking position. Handlers never read
another model's tables, so any model can be rebuilt alone. Table names and
columns are a stored format: renaming one orphans the rows already projected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from o2c.domain.money import to_minor

QTY_SCALE = 3


@dataclass(frozen=True)
class Table:
    """A read-model table: its name, key columns and other columns (``name TYPE``)."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.split()[0] for c in self.columns)

    def create_sql(self, qualified: str) -> str:
        return (f"CREATE TABLE IF NOT EXISTS {qualified} ({', '.join(self.columns)}, "
                f"PRIMARY KEY ({', '.join(self.key)}))")


class EventData:
    """A stored event's fields, decoded from JSON only when a handler reads them.

    Rebuilds touch every event; building full domain-event objects for each
    (eventsourcing's mapper) cost more than the read models' own work, so the
    projector reads the stored JSON and converts just the fields it uses.
    """

    __slots__ = ("_fields", "originator_id")

    def __init__(self, originator_id: str, fields: dict[str, Any]) -> None:
        self.originator_id = originator_id
        self._fields = fields

    @property
    def raw(self) -> dict[str, Any]:
        """The stored JSON fields, undecoded (for the hottest handlers)."""
        return self._fields

    def __getattr__(self, name: str) -> Any:
        try:
            return _typed(self._fields[name])
        except KeyError:
            raise AttributeError(name) from None


def _typed(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        tag = value.get("_type_")
        if tag is not None and len(value) == 2:
            return _DECODERS[tag](value["_data_"])
        return {k: _typed(v) for k, v in value.items()}
    if kind is list:
        return [_typed(v) for v in value]
    return value


def text_id(uuid: Any) -> str:
    """A UUID (or its 32 hex digits, as SQLite and the JSON store it) as canonical text."""
    if isinstance(uuid, UUID):
        return str(uuid)
    h = str(uuid)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" if len(h) == 32 else h


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "decimal_str": Decimal,
    "uuid_hex": text_id,
    "date_iso": date.fromisoformat,
    "datetime_iso": datetime.fromisoformat,
}


@dataclass
class Envelope:
    """An event with its place in the log, for the handlers."""

    position: int
    recorded_at: str
    event: Any


class Rows:
    """What handlers see: rows by key, loaded once per batch and written at its end."""

    def get(self, table: str, key: tuple[Any, ...]) -> dict[str, Any] | None:
        raise NotImplementedError

    def put(self, table: str, key: tuple[Any, ...], row: dict[str, Any]) -> None:
        raise NotImplementedError

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Appends a row that is never updated (for append-only tables)."""
        raise NotImplementedError

    def append(self, table: str, values: tuple[Any, ...]) -> None:
        """As ``add``, with the values in the table's column order."""
        raise NotImplementedError


class ReadModel:
    """A projection: tables, and handlers keyed by event class."""

    name = ""
    tables: tuple[Table, ...] = ()
    indexes: tuple[str, ...] = ()

    def __init__(self, places: int) -> None:
        self.places = places
        self.handlers: dict[type, Callable[[Envelope, Rows], None]] = {}
        self.register()

    def register(self) -> None:
        raise NotImplementedError

    def on(self, cls: type, handler: Callable[[Envelope, Rows], None]) -> None:
        self.handlers[cls] = handler

    def handlers_by_topic(self) -> dict[str, Callable[[Envelope, Rows], None]]:
        """The handlers keyed by the stored topic of their event class."""
        return {f"{cls.__module__}:{cls.__qualname__}": handler
                for cls, handler in self.handlers.items()}

    def checkpoint(self, cur: Any, table: Callable[[str], str], position: int) -> None:
        """Called in the batch's transaction when the log reaches a checkpoint position."""

    def minor(self, amount: Decimal) -> int:
        """Money in minor units (exact: amounts are never more precise than that)."""
        return to_minor(amount, self.places)

    def minor_stored(self, amount: dict[str, str]) -> int:
        """``minor`` of an amount as stored (``{"_type_": "decimal_str", "_data_": ...}``).

        Amounts are stored quantized to the minor unit, as ``str(Decimal)`` writes
        them ("37512.50"): dropping the point gives the integer exactly, without
        building a Decimal (a rebuild does this twice for every posting line).
        """
        assert amount["_type_"] == "decimal_str", amount
        text = amount["_data_"]
        whole, point, fraction = text.partition(".")
        if point and len(fraction) == self.places and fraction.isdigit() and (
                whole.isdigit() or (whole[:1] == "-" and whole[1:].isdigit())):
            return int(whole + fraction)
        return int(Decimal(text).scaleb(self.places))

    @staticmethod
    def milli(quantity: Decimal) -> int:
        """A quantity in thousandths."""
        return int(quantity.scaleb(QTY_SCALE))



def aggregate_id(envelope: Envelope) -> str:
    """The id of the aggregate the event is about, as canonical text."""
    return str(envelope.event.originator_id)  # already text: see EventData
