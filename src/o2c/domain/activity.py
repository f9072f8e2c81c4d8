"""Activity: a call, e-mail, meeting or task logged against a lead, an opportunity or a
customer (its subject), by whom, when, with a note and an outcome.

A task is a follow-up: it has a due date and an owner, and stays open until it is
completed (with an outcome); it may be rescheduled while open. Calls, e-mails and
meetings record something that happened and are done when logged.

Each activity is an aggregate of its own that names its subject, so logging one never
contends with commands on the lead or the deal.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from o2c.domain import values
from o2c.domain.base import O2CAggregate
from o2c.domain.errors import InvalidInputError, InvalidStateError

CALL, EMAIL, MEETING, TASK = "call", "email", "meeting", "task"
#: What an activity may be.
KINDS = (CALL, EMAIL, MEETING, TASK)
LEAD, OPPORTUNITY, CUSTOMER = "lead", "opportunity", "customer"
#: What an activity may be logged against.
SUBJECTS = (LEAD, OPPORTUNITY, CUSTOMER)
#: The status of a task until it is completed.
OPEN = "open"
#: The status of a completed task, and of a call, e-mail or meeting once logged.
DONE = "done"


def check_kind(value: object) -> str:
    """One of ``KINDS``."""
    if not isinstance(value, str) or value.strip().lower() not in KINDS:
        raise InvalidInputError(f"kind must be one of {', '.join(KINDS)}, not {value!r}")
    return value.strip().lower()


class Activity(O2CAggregate):
    """Something sales did, or has to do, about a lead, a deal or a customer."""

    class Logged(Aggregate.Created):
        """An activity was logged against its subject (``subject_kind`` and
        ``subject_id``): what kind, on which date it happened (or, for a task, was set),
        the note, who owns it, its outcome so far and, for a task, when it is due."""

        class_version = 1
        subject_kind: str
        subject_id: UUID
        kind: str
        note: str
        date: dt.date
        owner: str
        outcome: str
        due_date: dt.date | None

    class Completed(Aggregate.Event):
        """An open task was done on ``completed_on``, with its outcome."""

        class_version = 1
        outcome: str
        completed_on: date

    class Rescheduled(Aggregate.Event):
        """An open task was given another due date."""

        class_version = 1
        due_date: date

    @event(Logged)
    def __init__(self, subject_kind: str, subject_id: UUID, kind: str, note: str,
                 date: dt.date, owner: str, outcome: str, due_date: dt.date | None) -> None:
        self.subject_kind = subject_kind
        self.subject_id = subject_id
        self.kind = kind
        self.note = note
        self.date = date
        self.owner = owner
        self.outcome = outcome
        self.due_date = due_date
        self.status = OPEN if kind == TASK else DONE
        self.completed_on: dt.date | None = None

    @classmethod
    def log(cls, subject_kind: str, subject_id: UUID, kind: object, note: object, *,
            on: date, owner: object, outcome: object = None,
            due_date: object = None) -> Activity:
        """Logs an activity that happened (or, for a task, was set) ``on`` that date.

        A task needs a due date, on or after ``on``; other kinds take none. The date
        itself is the caller's to check (not after the business date)."""
        assert subject_kind in SUBJECTS, subject_kind
        checked_kind = check_kind(kind)
        checked_note = values.text(note, "note", max_length=values.MAX_LONG_TEXT)
        checked_owner = values.text(owner, "owner")
        checked_outcome = values.text(outcome, "outcome", max_length=values.MAX_LONG_TEXT,
                                      optional=True)
        due: date | None = None
        if checked_kind == TASK:
            if due_date is None:
                raise InvalidInputError("a task needs a due_date")
            due = values.a_date(due_date, "due_date")
            if due < on:
                raise InvalidInputError(f"due_date {due} is before the task's date {on}")
        elif due_date is not None:
            raise InvalidInputError(f"only a task has a due_date (this is a {checked_kind})")
        return cls(subject_kind=subject_kind, subject_id=subject_id, kind=checked_kind,
                   note=checked_note, date=on, owner=checked_owner, outcome=checked_outcome,
                   due_date=due)

    def _check_open_task(self, doing: str) -> None:
        if self.kind != TASK:
            raise InvalidStateError(f"this activity is a {self.kind}; only a task can be "
                                    f"{doing}")
        if self.status != OPEN:
            raise InvalidStateError(f"the task was completed on {self.completed_on}; it "
                                    f"cannot be {doing}")

    def complete(self, outcome: object, on: date) -> None:
        """Marks an open task done ``on`` that date (not before the task's own date),
        with its outcome."""
        checked = values.text(outcome, "outcome", max_length=values.MAX_LONG_TEXT,
                              optional=True)
        self._check_open_task("completed")
        if on < self.date:
            raise InvalidInputError(f"a task set on {self.date} cannot be completed on {on}")
        self._completed(outcome=checked, completed_on=on)

    @event(Completed)
    def _completed(self, outcome: str, completed_on: date) -> None:
        self.status = DONE
        self.outcome = outcome
        self.completed_on = completed_on

    def reschedule(self, due_date: object) -> None:
        """Gives an open task another due date (not before the task's own date)."""
        due = values.a_date(due_date, "due_date")
        self._check_open_task("rescheduled")
        if due < self.date:
            raise InvalidInputError(f"due_date {due} is before the task's date {self.date}")
        if due == self.due_date:
            raise InvalidInputError(f"the task is already due on {due}")
        self._rescheduled(due_date=due)

    @event(Rescheduled)
    def _rescheduled(self, due_date: date) -> None:
        self.due_date = due_date
