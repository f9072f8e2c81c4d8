"""The activities read model: every call, e-mail, meeting and task, and per lead,
opportunity and customer (the subjects) when it was last touched; with the queries
behind the follow-ups report, a subject's last and next activity, and staleness.

A subject's last touch is the latest of the dates its activities happened on and its
tasks were completed on (by date, then log position); before any activity it is the
day the lead was captured or the deal opened (the recording date). Staleness is asked
of a business date, so it is computed when read, never stored.

The model tracks leads, opportunities and customers itself (label, status, whether
still open) so that it can be rebuilt alone and started on an existing log.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from o2c.domain.activity import CUSTOMER, LEAD, OPEN, OPPORTUNITY, Activity
from o2c.domain.customer import Customer
from o2c.domain.lead import CONVERTED, DISQUALIFIED, NEW, QUALIFIED, Lead
from o2c.domain.opportunity import OPEN_STAGES, Opportunity
from o2c.persistence.sql import Database
from o2c.projections.base import Envelope, ReadModel, Rows, Table, aggregate_id

ACTIVITIES, SUBJECTS = "rm_activities", "rm_activity_subjects"


class ActivityModel(ReadModel):
    """Activities by id; subjects with their state and last touch."""

    name = "activities"
    tables = (
        Table(ACTIVITIES, ("id",), (
            "id TEXT", "position BIGINT", "subject_kind TEXT", "subject_id TEXT", "kind TEXT",
            "note TEXT", "owner TEXT", "outcome TEXT", "date TEXT", "due_date TEXT",
            "status TEXT", "completed_on TEXT", "logged_at TEXT", "updated_at TEXT")),
        Table(SUBJECTS, ("id",), (
            "id TEXT", "kind TEXT", "label TEXT", "state TEXT", "open INTEGER", "since TEXT",
            "last_date TEXT", "last_position BIGINT", "last_activity_id TEXT")),
    )
    indexes = (
        "CREATE INDEX IF NOT EXISTS {s}rm_activities_open ON {t}rm_activities "
        "(status, due_date, position)",
        "CREATE INDEX IF NOT EXISTS {s}rm_activities_subject ON {t}rm_activities "
        "(subject_id, status, due_date)",
        "CREATE INDEX IF NOT EXISTS {s}rm_activity_subjects_open ON {t}rm_activity_subjects "
        "(open, kind)",
    )

    def register(self) -> None:
        self.on(Lead.Captured, self._lead_captured)
        self.on(Lead.Qualified, lambda e, r: self._state(e, r, QUALIFIED, True))
        self.on(Lead.Disqualified, lambda e, r: self._state(e, r, DISQUALIFIED, False))
        self.on(Lead.Converted, lambda e, r: self._state(e, r, CONVERTED, False))
        self.on(Opportunity.Opened, self._opened)
        self.on(Opportunity.StageChanged,
                lambda e, r: self._state(e, r, e.event.stage, e.event.stage in OPEN_STAGES))
        self.on(Opportunity.Won, lambda e, r: self._state(e, r, "won", False))
        self.on(Opportunity.Lost, lambda e, r: self._state(e, r, "lost", False))
        self.on(Customer.Registered, self._customer)
        self.on(Activity.Logged, self._logged)
        self.on(Activity.Completed, self._completed)
        self.on(Activity.Rescheduled, self._rescheduled)

    @staticmethod
    def _subject(e: Envelope, rows: Rows, kind: str, label: str, state: str,
                 is_open: bool) -> None:
        rows.put(SUBJECTS, (aggregate_id(e),), {
            "id": aggregate_id(e), "kind": kind, "label": label, "state": state,
            "open": int(is_open), "since": e.recorded_at[:10], "last_date": None,
            "last_position": None, "last_activity_id": None})

    def _lead_captured(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        self._subject(e, rows, LEAD, f"{event.name} ({event.company})", NEW, True)

    def _opened(self, e: Envelope, rows: Rows) -> None:
        self._subject(e, rows, OPPORTUNITY, e.event.title, "prospecting", True)

    def _customer(self, e: Envelope, rows: Rows) -> None:
        self._subject(e, rows, CUSTOMER, e.event.name, "", False)

    @staticmethod
    def _state(e: Envelope, rows: Rows, state: str, is_open: bool) -> None:
        row = rows.get(SUBJECTS, (aggregate_id(e),))
        assert row is not None, f"{aggregate_id(e)} changed before it was created"
        row.update(state=state, open=int(is_open))
        rows.put(SUBJECTS, (aggregate_id(e),), row)

    @staticmethod
    def _touch(rows: Rows, subject_id: str, day: str, e: Envelope) -> None:
        """Makes ``day`` the subject's last touch if it is not before the current one."""
        row = rows.get(SUBJECTS, (subject_id,))
        assert row is not None, f"an activity names {subject_id}, which does not exist"
        if row["last_date"] is None or day >= row["last_date"]:
            row.update(last_date=day, last_position=e.position,
                       last_activity_id=aggregate_id(e))
            rows.put(SUBJECTS, (subject_id,), row)

    def _logged(self, e: Envelope, rows: Rows) -> None:
        event: Any = e.event
        subject_id = str(event.subject_id)
        day = event.date.isoformat()
        rows.put(ACTIVITIES, (aggregate_id(e),), {
            "id": aggregate_id(e), "position": e.position, "subject_kind": event.subject_kind,
            "subject_id": subject_id, "kind": event.kind, "note": event.note,
            "owner": event.owner, "outcome": event.outcome, "date": day,
            "due_date": event.due_date.isoformat() if event.due_date else None,
            "status": OPEN if event.kind == "task" else "done", "completed_on": None,
            "logged_at": e.recorded_at, "updated_at": e.recorded_at})
        self._touch(rows, subject_id, day, e)

    def _activity(self, e: Envelope, rows: Rows) -> dict[str, Any]:
        row = rows.get(ACTIVITIES, (aggregate_id(e),))
        assert row is not None, f"activity {aggregate_id(e)} changed before it was logged"
        row["updated_at"] = e.recorded_at
        return row

    def _completed(self, e: Envelope, rows: Rows) -> None:
        row = self._activity(e, rows)
        day = e.event.completed_on.isoformat()
        row.update(status="done", outcome=e.event.outcome, completed_on=day)
        rows.put(ACTIVITIES, (aggregate_id(e),), row)
        self._touch(rows, row["subject_id"], day, e)

    def _rescheduled(self, e: Envelope, rows: Rows) -> None:
        row = self._activity(e, rows)
        row["due_date"] = e.event.due_date.isoformat()
        rows.put(ACTIVITIES, (aggregate_id(e),), row)


# The queries ---------------------------------------------------------------------------

_ACTIVITY_COLUMNS = ("id", "subject_kind", "subject_id", "kind", "note", "owner", "outcome",
                     "date", "due_date", "status", "completed_on")


def _rows(db: Database, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with db.transaction(write=False) as cur:
        return cur.execute(sql, params).fetchall()


def follow_ups(db: Database, today: date, owner: str | None = None) -> dict[str, Any]:
    """Open follow-ups (tasks not completed) per owner, each owner's overdue ones (due
    before ``today``) first, then by due date and the order they were logged."""
    t = db.table
    where, params = "a.status = ?", [OPEN]
    if owner is not None:
        where += " AND a.owner = ?"
        params.append(owner)
    found = _rows(db, f"SELECT a.id, a.subject_kind, a.subject_id, s.label, a.kind, a.note, "
                      f"a.owner, a.date, a.due_date FROM {t(ACTIVITIES)} a "
                      f"LEFT JOIN {t(SUBJECTS)} s ON s.id = a.subject_id WHERE {where} "
                      "ORDER BY a.owner, a.due_date, a.position", tuple(params))
    owners: dict[str, dict[str, Any]] = {}
    for aid, subject_kind, subject_id, label, kind, note, who, day, due in found:
        due_day = date.fromisoformat(due)
        overdue = due_day < today
        group = owners.setdefault(who, {"owner": who, "open": 0, "overdue": 0, "items": []})
        group["open"] += 1
        group["overdue"] += int(overdue)
        group["items"].append({
            "id": aid, "subject_kind": subject_kind, "subject_id": subject_id,
            "subject": label or "", "kind": kind, "note": note, "owner": who,
            "date": date.fromisoformat(day), "due_date": due_day, "overdue": overdue,
            "days_overdue": max((today - due_day).days, 0)})
    for group in owners.values():  # due order already puts the overdue first; say so
        group["items"].sort(key=lambda i: (not i["overdue"], i["due_date"]))
    groups = list(owners.values())
    return {"as_of": today, "owners": groups, "open": sum(g["open"] for g in groups),
            "overdue": sum(g["overdue"] for g in groups)}


def subject_activity(db: Database, subject_id: str) -> dict[str, Any]:
    """A lead's, deal's or customer's last activity (its last touch) and next open
    follow-up (the open task due first); None where there is none."""
    t = db.table
    cols = ", ".join(f"a.{c}" for c in _ACTIVITY_COLUMNS)
    last = _rows(db, f"SELECT {cols}, s.last_date FROM {t(SUBJECTS)} s JOIN {t(ACTIVITIES)} a "
                     f"ON a.id = s.last_activity_id WHERE s.id = ?", (subject_id,))
    upcoming = _rows(db, f"SELECT {cols} FROM {t(ACTIVITIES)} a WHERE a.subject_id = ? "
                         f"AND a.status = ? ORDER BY a.due_date, a.position LIMIT 1",
                     (subject_id, OPEN))
    last_activity = None
    if last:
        last_activity = {**_activity(last[0][:-1]), "touched_on": date.fromisoformat(last[0][-1])}
    return {"last_activity": last_activity,
            "next_follow_up": _activity(upcoming[0]) if upcoming else None}


def activity_row(db: Database, activity_id: str) -> dict[str, Any] | None:
    """One activity as the read model has it (with its subject's label)."""
    t = db.table
    cols = ", ".join(f"a.{c}" for c in _ACTIVITY_COLUMNS)
    found = _rows(db, f"SELECT {cols}, s.label FROM {t(ACTIVITIES)} a LEFT JOIN "
                      f"{t(SUBJECTS)} s ON s.id = a.subject_id WHERE a.id = ?",
                  (activity_id,))
    if not found:
        return None
    return {**_activity(found[0][:-1]), "subject": found[0][-1] or ""}


#: A subject's last touch, or the day it was created if that is later (or untouched).
_IDLE_SINCE = "(CASE WHEN last_date > since THEN last_date ELSE since END)"


def stale(db: Database, today: date, days: int) -> list[dict[str, Any]]:
    """Open leads and deals last touched (or, untouched, created) ``days`` or more days
    before ``today``, the longest idle first."""
    t = db.table
    cutoff = (today - timedelta(days=days)).isoformat()
    found = _rows(db, f"SELECT id, kind, label, state, since, last_date FROM {t(SUBJECTS)} "
                      f"WHERE open = 1 AND kind IN (?, ?) "
                      f"AND {_IDLE_SINCE} <= ? ORDER BY {_IDLE_SINCE}, id",
                  (LEAD, OPPORTUNITY, cutoff))
    return [{"kind": kind, "id": sid, "name": label, "stage": state,
             "last_activity_date": date.fromisoformat(last) if last else None,
             "idle_since": date.fromisoformat(max(last or since, since)),
             "days_idle": (today - date.fromisoformat(max(last or since, since))).days}
            for sid, kind, label, state, since, last in found]


def _activity(row: tuple[Any, ...]) -> dict[str, Any]:
    item = dict(zip(_ACTIVITY_COLUMNS, row, strict=True))
    for name in ("date", "due_date", "completed_on"):
        item[name] = date.fromisoformat(item[name]) if item[name] else None
    return item


def subject_of(db: Database, subject_id: str) -> dict[str, Any] | None:
    """A lead, deal or customer as the model knows it: kind, label, state, last touch."""
    found = _rows(db, f"SELECT id, kind, label, state, open, since, last_date FROM "
                      f"{db.table(SUBJECTS)} WHERE id = ?", (subject_id,))
    if not found:
        return None
    sid, kind, label, state, is_open, since, last = found[0]
    return {"id": sid, "kind": kind, "label": label, "state": state, "open": bool(is_open),
            "since": date.fromisoformat(since),
            "last_date": date.fromisoformat(last) if last else None}


def activities_of(db: Database, subject_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """A subject's activities, the latest first (by date, then as logged)."""
    cols = ", ".join(f"a.{c}" for c in _ACTIVITY_COLUMNS)
    return [_activity(row) for row in _rows(
        db, f"SELECT {cols} FROM {db.table(ACTIVITIES)} a WHERE a.subject_id = ? "
            "ORDER BY a.date DESC, a.position DESC LIMIT ?", (subject_id, limit))]
