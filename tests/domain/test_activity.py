"""Activity: logged against a subject; a task is due, completed once, rescheduled while
open; no due date before the activity's date."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from refusal import refused, replayed

from o2c.domain.activity import DONE, OPEN, Activity
from o2c.domain.errors import InvalidInputError, InvalidStateError

DAY = date(2026, 3, 10)
SUBJECT = uuid.uuid4()


def task(due: object = "2026-03-17") -> Activity:
    return Activity.log("lead", SUBJECT, "Task", " Send the quote ", on=DAY, owner=" sam ",
                        due_date=due)


def test_a_call_is_done_when_logged_with_its_note_owner_and_outcome() -> None:
    call = Activity.log("opportunity", SUBJECT, "call", "Intro", on=DAY, owner="ann",
                        outcome="Wants a quote")
    assert (call.kind, call.note, call.owner, call.outcome, call.date, call.status,
            call.due_date, call.subject_kind, call.subject_id) == (
        "call", "Intro", "ann", "Wants a quote", DAY, DONE, None, "opportunity", SUBJECT)


def test_a_task_is_open_until_completed_and_replays_to_the_same_state() -> None:
    todo = task()
    assert (todo.kind, todo.note, todo.owner, todo.status, todo.due_date) == (
        "task", "Send the quote", "sam", OPEN, date(2026, 3, 17))
    todo.reschedule("2026-03-20")
    todo.complete("Sent", date(2026, 3, 19))
    assert (todo.status, todo.outcome, todo.completed_on, todo.due_date) == (
        DONE, "Sent", date(2026, 3, 19), date(2026, 3, 20))
    copy = replayed(todo)
    assert vars(copy) == {**vars(todo), "_pending_events": []}


@pytest.mark.parametrize(("kind", "note", "owner", "due", "message"), [
    ("fax", "x", "ann", None, "kind must be one of"),
    (None, "x", "ann", None, "kind must be one of"),
    ("call", "", "ann", None, "note must not be empty"),
    ("call", "x" * 2001, "ann", None, "note is longer"),
    ("call", "x", "", None, "owner must not be empty"),
    ("call", "x", "ann", "2026-03-11", "only a task has a due_date"),
    ("task", "x", "ann", None, "a task needs a due_date"),
    ("task", "x", "ann", "2026-03-09", "before the task's date"),
    ("task", "x", "ann", "soon", "ISO 8601"),
])
def test_logging_refuses_bad_input(kind: object, note: object, owner: object, due: object,
                                   message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Activity.log("lead", SUBJECT, kind, note, on=DAY, owner=owner, due_date=due)


def test_a_task_due_on_its_own_date_is_allowed() -> None:
    assert task(DAY).due_date == DAY


def test_completing_twice_is_refused() -> None:
    todo = task()
    todo.complete("Sent", DAY)
    refused(todo, InvalidStateError, lambda: todo.complete("Again", DAY), "completed on")


def test_rescheduling_a_completed_task_is_refused() -> None:
    todo = task()
    todo.complete(None, DAY)
    assert todo.outcome == ""
    refused(todo, InvalidStateError, lambda: todo.reschedule("2026-04-01"), "completed on")


def test_only_a_task_is_completed_or_rescheduled() -> None:
    call = Activity.log("customer", SUBJECT, "meeting", "Visit", on=DAY, owner="ann")
    refused(call, InvalidStateError, lambda: call.complete("x", DAY), "only a task")
    refused(call, InvalidStateError, lambda: call.reschedule("2026-04-01"), "only a task")


def test_rescheduling_before_the_tasks_date_or_to_the_same_day_is_refused() -> None:
    todo = task()
    refused(todo, InvalidInputError, lambda: todo.reschedule("2026-03-09"), "before")
    refused(todo, InvalidInputError, lambda: todo.reschedule("2026-03-17"), "already due")
    refused(todo, InvalidInputError, lambda: todo.reschedule(17), "ISO 8601")


def test_completing_before_the_tasks_date_is_refused() -> None:
    todo = task()
    refused(todo, InvalidInputError, lambda: todo.complete("x", date(2026, 3, 9)),
            "cannot be completed on")
