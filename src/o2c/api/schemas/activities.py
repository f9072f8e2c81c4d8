"""Bodies and answers of ``routes.activities``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from o2c.api.schemas.common import Command, CommandPublic, Day, LongText, Name, Out

#: When an activity happened (or a task was set, or done).
ActivityDate = Annotated[Day | None, Field(description=(
    "When it happened (ISO 8601); default the business date (today, UTC). Refused after "
    "the business date (422)."))]


class LogActivity(Command):
    """A call, e-mail, meeting or task to log against the lead, deal or customer."""

    kind: Literal["call", "email", "meeting", "task"]
    note: LongText
    due_date: Day | None = Field(default=None, description=(
        "A task's due date (required for a task, on or after its date; refused for "
        "the other kinds)."))
    owner: Name | None = Field(default=None, description=(
        "Who does it, or did it; default the caller's name (the token's holder)."))
    outcome: LongText | None = None
    date: ActivityDate = None


class CompleteActivity(Command):
    """Mark an open task done."""

    outcome: LongText | None = None
    date: ActivityDate = None


class RescheduleActivity(Command):
    """Give an open task another due date."""

    due_date: Day


class ActivityLoggedPublic(CommandPublic):
    """A logged, completed or rescheduled activity: ``open`` (a task to do) or ``done``."""

    status: str
    due_date: dt.date | None


class ActivityBriefPublic(Out):
    """An activity as a lead or deal shows it (its last, or its next follow-up)."""

    id: str
    kind: str
    note: str
    owner: str
    outcome: str
    date: dt.date
    due_date: dt.date | None
    status: str
    completed_on: dt.date | None


class ActivityPublic(ActivityBriefPublic):
    """An activity: what a lead or deal shows of it, and its version and subject."""

    version: int
    subject_kind: str
    subject_id: str


class LastActivityPublic(ActivityBriefPublic):
    """The activity that last touched a subject, and the day it did (it happened, or the
    task was completed)."""

    touched_on: dt.date


class FollowUpPublic(Out):
    """An open task."""

    id: str
    subject_kind: str
    subject_id: str
    subject: str = Field(description="The lead (name and company), deal title or customer.")
    kind: str
    note: str
    owner: str
    date: dt.date
    due_date: dt.date
    overdue: bool
    days_overdue: int


class OwnerFollowUpsPublic(Out):
    """One owner's open tasks: overdue first, then by due date."""

    owner: str
    open: int
    overdue: int
    items: list[FollowUpPublic]


class FollowUpsPublic(Out):
    """Open follow-ups per owner, as of a business date."""

    position: int
    as_of: dt.date
    open: int
    overdue: int
    owners: list[OwnerFollowUpsPublic]
