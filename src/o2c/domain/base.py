"""What every o2c aggregate shares."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate


def copy_state(value: Any) -> Any:
    """Copies dicts and lists; shares everything else, which in o2c state is immutable.

    Aggregate state holds only str, int, bool, None, Decimal, UUID, date and
    datetime leaves, in dicts and lists.
    """
    if type(value) is dict:
        return {k: copy_state(v) for k, v in value.items()}
    if type(value) is list:
        return [copy_state(v) for v in value]
    return value


class O2CAggregate(Aggregate):
    """An aggregate whose copies are cheap.

    The repository hands each command a deep copy of the cached aggregate, so a
    refused or retried command can never corrupt the cache. ``copy.deepcopy``
    rebuilds every UUID, Decimal and date through pickling hooks, which made
    copying a fifth of a command's cost; copying only the containers is enough.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> O2CAggregate:
        clone = object.__new__(type(self))
        clone.__dict__.update(copy_state(self.__dict__))
        return clone
