"""The one check every domain test makes of a refused command."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from o2c.domain.errors import O2CError


def refused(aggregate: Aggregate, error: type[O2CError], command: Callable[[], Any],
            match: str | None = None) -> O2CError:
    """Runs ``command``, which must raise ``error`` and leave ``aggregate`` untouched.

    Untouched means no event triggered (the pending events and the version are
    as before) and no attribute changed (compared with a deep copy).
    """
    pending, version = len(aggregate.pending_events), aggregate.version
    before = copy.deepcopy(vars(aggregate))
    with pytest.raises(error, match=match) as caught:
        command()
    assert len(aggregate.pending_events) == pending, "a refused command triggered an event"
    assert aggregate.version == version
    assert vars(aggregate) == before, "a refused command changed the aggregate's state"
    return caught.value


def replayed(aggregate: Aggregate) -> Aggregate:
    """The aggregate rebuilt from its pending events (which are collected)."""
    rebuilt: Any = None
    for event in aggregate.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert rebuilt is not None
    return rebuilt  # type: ignore[no-any-return]
