"""Persistence: everything that knows SQL, drivers and files.

- ``connection``: database URLs, eventsourcing's environment, the DDL lock;
- ``audit_rows``: the audit row of every event (actor, key, time, chained hash)
  and the commands table, written in the events' transaction;
- ``sqlite`` / ``postgres``: eventsourcing's recorders extended to write them;
- ``sql``: plain transactions on the same database (``Database``, ``Cursor``);
- ``log``: the only SQL that reads the log and its audit rows;
- ``locks``: locks on hot aggregates across processes;
- ``tokens``: the bearer tokens table.

Nothing here imports any other part of o2c but ``o2c.domain`` values.
"""
