"""Rebuilding read models: emptying them, replaying the whole log into them (in
worker processes for long logs on PostgreSQL), and dropping their tables.

Read models are derived data: any of them can be emptied and replayed from the
log at any time, alone or with others, and comes out byte for byte the same
(``Projector.digest``).
"""

from __future__ import annotations

import contextlib
import os
import queue
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from o2c.config import Settings
from o2c.persistence import log
from o2c.persistence.sql import Database
from o2c.projections.projector import (
    FAULTS_TABLE,
    TRACKING_TABLE,
    Progress,
    Projector,
    index_name,
    index_sql,
    schema_transaction,
)
from o2c.projections.read_models import READ_MODELS
from o2c.projections.trial_balance import TrialBalance

#: A rebuild of at least this many events runs its read models in parallel processes
#: (see ``rebuild``); below it, starting them costs more than they save.
PARALLEL_FROM = 50_000

#: Opens the database in a rebuild's worker process (e.g. ``o2c.bootstrap.open_database``:
#: picklable, so a spawned process can be handed it).
OpenDatabase = Callable[[Settings], Database]

#: The prefix of every read model's tables, whichever version of o2c created them.
_READ_MODEL_PREFIX = "rm_"


@dataclass
class Rebuilt:
    """How a rebuild ended: the position reached, and each worker process's peak RSS
    (kB; none when it ran in the calling process)."""

    position: int
    worker_peaks_kb: list[int] = field(default_factory=list)


def reset(projector: Projector, names: Iterable[str] | None = None) -> None:
    """Empties the named read models (all of the projector's by default) and sets their
    position back to zero, forgetting any event one was stuck at (replaying finds it
    again if it still fails); ``ValueError`` names any the projector does not have."""
    wanted = set(names) if names else {m.name for m in projector.models}
    unknown = wanted - {m.name for m in projector.models}
    if unknown:
        raise ValueError(f"unknown read model(s): {', '.join(sorted(unknown))}")
    db = projector.db
    with projector.exclusive() as cur:
        for model in projector.models:
            if model.name in wanted:
                for table in model.tables:
                    cur.execute(f"DELETE FROM {db.table(table.name)}")
                cur.execute(f"UPDATE {db.table(TRACKING_TABLE)} SET position = 0 "
                            "WHERE name = ?", (model.name,))
                cur.execute(f"DELETE FROM {db.table(FAULTS_TABLE)} WHERE name = ?",
                            (model.name,))


def rebuild(projector: Projector, names: Iterable[str] | None = None,
            progress: Progress | None = None, *, workers: int | None = None,
            open_db: OpenDatabase | None = None) -> Rebuilt:
    """Replays the whole log into the named read models, in batches.

    Read models share nothing, so on PostgreSQL a long rebuild runs them in
    ``workers`` processes (default: one per core, at most two groups: the
    trial balance, which handles every posting line and is most of the work,
    and the rest), each with a projector of its own on a database opened by
    ``open_db``; they write different tables and lock different tracking rows.
    On SQLite, whose single writer lock a batch holds while it applies, for
    short logs, and without ``open_db``, it runs in this process.
    """
    wanted = list(names) if names else [m.name for m in projector.models]
    reset(projector, wanted)
    peaks: list[int] = []
    # Secondary indexes (postings by recording time, entry and source; ...) are
    # dropped and built again at the end: inserting a million postings into
    # indexes on random keys costs more than sorting them once (a rebuild only
    # looks rows up by primary key). A rebuild that fails still rebuilds them.
    _indexes(projector, wanted, create=False)
    try:
        groups = _groups(projector.db, wanted, workers) if open_db is not None else [wanted]
        if len(groups) > 1:
            assert open_db is not None
            peaks = _rebuild_in_processes(projector, groups, open_db, progress)
        position = projector.catch_up(progress)
    finally:
        _indexes(projector, wanted, create=True)
    return Rebuilt(position, peaks)


def drop(db: Database) -> None:
    """Drops every read-model table (``rm_*``, whichever version created it) and the
    tracking table, so the next projector starts from nothing."""
    with schema_transaction(db) as cur:
        if db.postgres:
            found = cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = ?",
                                (db.schema,)).fetchall()
        else:
            found = cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                ).fetchall()
        tables = [str(row[0]) for row in found if str(row[0]).startswith(_READ_MODEL_PREFIX)]
        cascade = " CASCADE" if db.postgres else ""
        for table in [*tables, TRACKING_TABLE, FAULTS_TABLE]:
            cur.execute(f"DROP TABLE IF EXISTS {db.table(table)}{cascade}")


def _indexes(projector: Projector, names: list[str], *, create: bool) -> None:
    db = projector.db
    prefix = f'"{db.schema}".' if db.postgres else ""
    with projector.lock, schema_transaction(db) as cur:
        for model in projector.models:
            if model.name not in names:
                continue
            for index in model.indexes:
                if create:
                    cur.execute(index_sql(db, index))
                else:
                    cur.execute(f"DROP INDEX IF EXISTS {prefix}{index_name(index)}")


def _groups(db: Database, wanted: list[str], workers: int | None) -> list[list[str]]:
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if db.postgres else 1
    if workers < 2 or len(wanted) < 2 or log.head(db) < PARALLEL_FROM:
        return [wanted]
    heavy = [n for n in wanted if n == TrialBalance.name] or wanted[:1]
    rest = [n for n in wanted if n not in heavy]
    groups = [heavy] + [rest[i::workers - 1] for i in range(workers - 1)]
    return [g for g in groups if g]


def _rebuild_in_processes(projector: Projector, groups: list[list[str]],
                          open_db: OpenDatabase, progress: Progress | None) -> list[int]:
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no inherited connections or threads
    peaks: Any = context.Queue()
    processes = [context.Process(target=_catch_up_in_process,
                                 args=(open_db, projector.settings, group, peaks),
                                 daemon=True)
                 for group in groups]
    for process in processes:
        process.start()
    head = log.head(projector.db)
    while any(p.is_alive() for p in processes):
        if progress is not None:
            progress(projector.position(), head)
        for process in processes:
            process.join(timeout=0.2)
    found: list[int] = []
    for _ in [p for p in processes if p.exitcode == 0]:  # each put one before exiting
        with contextlib.suppress(queue.Empty):
            found.append(int(peaks.get(timeout=10)))
    failed = [p.exitcode for p in processes if p.exitcode]
    if failed:
        raise RuntimeError(f"a rebuild worker failed (exit status {failed[0]}); the read "
                           "models it was rebuilding are behind: run the rebuild again")
    return found


def _catch_up_in_process(open_db: OpenDatabase, settings: Settings, names: list[str],
                         peaks: Any) -> None:
    """A rebuild worker: a projector for ``names`` on its own database connection,
    caught up to the head; puts its peak RSS (kB) on ``peaks``. (``open_db`` must be
    safe to call from several processes at once: ``o2c.bootstrap.open_database``
    takes the schema lock around eventsourcing's ``CREATE ... IF NOT EXISTS``.)"""
    import resource

    db = open_db(settings)
    try:
        Projector(db, settings, names).catch_up()
    finally:
        db.datastore.close()
    peaks.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


__all__ = ["PARALLEL_FROM", "READ_MODELS", "Rebuilt", "drop", "rebuild", "reset"]
