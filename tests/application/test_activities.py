"""Activities through the use cases, on SQLite and PostgreSQL: logged against existing
leads, deals and customers only; tasks completed once and rescheduled while open;
nothing recorded on refusal; the follow-ups report (overdue first), the last and next
activity of a subject, staleness on the pipeline as the business date moves on, and
the activities read model equal to a rebuild."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from o2c.application import O2C, Context
from o2c.application.activities import owner_of
from o2c.domain.errors import (
    IdempotencyKeyReusedError,
    InvalidInputError,
    InvalidStateError,
    NotFoundError,
    O2CError,
    VersionMismatchError,
)
from o2c.projections import Projector, activities, reports
from o2c.projections.rebuild import rebuild

TODAY = datetime.now(UTC).date()
CTX = Context(actor="sam", today=TODAY)


def _in(days: int) -> date:
    return TODAY + timedelta(days=days)


def _at(days: int, actor: str = "sam") -> Context:
    return Context(actor=actor, today=_in(days))


def _refused(app: O2C, error: type[O2CError], command: Callable[[], Any],
             match: str | None = None) -> None:
    head = app.db.head()
    with pytest.raises(error, match=match):
        command()
    assert app.db.head() == head, "a refused command recorded something"


def _caught_up(app: O2C) -> Projector:
    projector = Projector(app.db, app.settings)
    projector.catch_up()
    return projector


@pytest.fixture
def world(app: O2C) -> dict[str, str]:
    lead = app.capture_lead(CTX, "Dana Whitfield", "Apex", "dana@apex.example", "web").id
    customer = app.register_customer(CTX, "Nimbus", "ap@nimbus.example").id
    deal = app.open_opportunity(CTX, customer, "Nimbus racks", "900.00", "2030-01-31").id
    return {"lead": lead, "customer": customer, "deal": deal}


def test_an_activity_is_logged_against_each_kind_of_subject(app: O2C,
                                                            world: dict[str, str]) -> None:
    for kind in ("lead", "opportunity", "customer"):
        subject = world["deal" if kind == "opportunity" else kind]
        done = app.log_activity(CTX, kind, subject, "call", f"Called the {kind}",
                                outcome="Interested")
        activity = app.activity(done.id)
        assert (activity.subject_kind, str(activity.subject_id), activity.kind,
                activity.owner, activity.date, activity.status, done.extra["status"]) == (
            kind, subject, "call", "sam", TODAY, "done", "done")


def test_the_owner_defaults_to_the_actors_name(app: O2C, world: dict[str, str]) -> None:
    ctx = Context(actor="sales:Dana Lee#0a1b2c3d", today=TODAY)
    done = app.log_activity(ctx, "lead", world["lead"], "call", "x")
    assert app.activity(done.id).owner == "Dana Lee"
    assert owner_of("cli") == "cli"
    assert owner_of("admin:bootstrap") == "bootstrap"


def test_an_unknown_or_mistyped_subject_is_not_found_and_records_nothing(
        app: O2C, world: dict[str, str]) -> None:
    _refused(app, NotFoundError, lambda: app.log_activity(
        CTX, "lead", str(uuid.uuid4()), "call", "x"), "no lead")
    _refused(app, NotFoundError, lambda: app.log_activity(
        CTX, "lead", "not-a-uuid", "call", "x"), "no lead")
    # a customer's id named as a lead's is not a lead
    _refused(app, NotFoundError, lambda: app.log_activity(
        CTX, "lead", world["customer"], "call", "x"), "no lead")
    _refused(app, NotFoundError, lambda: app.complete_activity(CTX, str(uuid.uuid4())))
    _refused(app, NotFoundError, lambda: app.complete_activity(CTX, world["lead"]))


def test_refusals_record_nothing(app: O2C, world: dict[str, str]) -> None:
    lead = world["lead"]
    _refused(app, InvalidInputError, lambda: app.log_activity(
        CTX, "lead", lead, "call", "x", date=_in(1)), "after the business date")
    _refused(app, InvalidInputError, lambda: app.log_activity(
        CTX, "lead", lead, "task", "x", due_date=_in(-1)), "before the task's date")
    _refused(app, InvalidInputError, lambda: app.log_activity(
        CTX, "lead", lead, "task", "x", date=_in(-5), due_date=_in(-6)), "before")
    _refused(app, InvalidInputError, lambda: app.log_activity(
        CTX, "lead", lead, "task", "x"), "needs a due_date")
    _refused(app, InvalidInputError, lambda: app.log_activity(
        CTX, "lead", lead, "fax", "x"), "kind")
    todo = app.log_activity(CTX, "lead", lead, "task", "Send quote", due_date=_in(3)).id
    app.complete_activity(CTX, todo, "Sent")
    _refused(app, InvalidStateError, lambda: app.complete_activity(CTX, todo, "Again"),
             "completed on")
    _refused(app, InvalidStateError, lambda: app.reschedule_activity(CTX, todo, _in(9)),
             "completed on")
    other = app.log_activity(CTX, "lead", lead, "task", "Call back", due_date=_in(3)).id
    _refused(app, InvalidInputError, lambda: app.complete_activity(
        CTX, other, "x", date=_in(1)), "after the business date")
    _refused(app, VersionMismatchError, lambda: app.reschedule_activity(
        Context(actor="sam", today=TODAY, expected_version=5), other, _in(4)))
    _refused(app, VersionMismatchError, lambda: app.log_activity(
        Context(actor="sam", today=TODAY, expected_version=9), "lead", lead, "call", "x"))


def test_a_task_completed_and_rescheduled(app: O2C, world: dict[str, str]) -> None:
    todo = app.log_activity(CTX, "opportunity", world["deal"], "task", "Send the proposal",
                            due_date=_in(2), owner="ann").id
    moved = app.reschedule_activity(_at(1), todo, _in(5))
    assert (moved.version, moved.extra["due_date"]) == (2, _in(5).isoformat())
    done = app.complete_activity(_at(4), todo, "Sent")
    task = app.activity(todo)
    assert (done.extra["status"], task.status, task.outcome, task.completed_on,
            task.owner, task.due_date) == ("done", "done", "Sent", _in(4), "ann", _in(5))


def test_idempotent_logging(app: O2C, world: dict[str, str]) -> None:
    keyed = Context(actor="sam", today=TODAY, idempotency_key="log-1")
    first = app.log_activity(keyed, "lead", world["lead"], "email", "Sent brochure")
    head = app.db.head()
    again = app.log_activity(keyed, "lead", world["lead"], "email", "Sent brochure")
    assert (again.id, again.replayed, app.db.head()) == (first.id, True, head)
    _refused(app, IdempotencyKeyReusedError, lambda: app.log_activity(
        keyed, "lead", world["lead"], "email", "Another note"))


def test_follow_ups_per_owner_overdue_first_then_by_due_date(app: O2C,
                                                             world: dict[str, str]) -> None:
    lead, deal = world["lead"], world["deal"]
    later = app.log_activity(CTX, "lead", lead, "task", "Later", due_date=_in(10)).id
    soon = app.log_activity(CTX, "opportunity", deal, "task", "Soon", due_date=_in(4)).id
    late = app.log_activity(_at(-20), "lead", lead, "task", "Late", due_date=_in(-3),
                            date=_in(-20)).id
    later_late = app.log_activity(_at(-20), "lead", lead, "task", "Later late",
                                  due_date=_in(-1), date=_in(-20)).id
    anns = app.log_activity(CTX, "customer", world["customer"], "task", "Ann's",
                            due_date=_in(1), owner="ann").id
    done = app.log_activity(CTX, "lead", lead, "task", "Done", due_date=_in(-0)).id
    app.complete_activity(CTX, done, "ok")
    app.log_activity(CTX, "lead", lead, "call", "Not a follow-up")
    _caught_up(app)

    report = activities.follow_ups(app.db, TODAY)
    assert [g["owner"] for g in report["owners"]] == ["ann", "sam"]
    sam = report["owners"][1]
    assert [i["id"] for i in sam["items"]] == [late, later_late, soon, later]
    assert [i["overdue"] for i in sam["items"]] == [True, True, False, False]
    assert [i["days_overdue"] for i in sam["items"]] == [3, 1, 0, 0]
    assert (sam["open"], sam["overdue"], report["open"], report["overdue"]) == (4, 2, 5, 2)
    assert sam["items"][2]["subject"] == "Nimbus racks"
    assert sam["items"][0]["subject"] == "Dana Whitfield (Apex)"
    assert [i["id"] for i in report["owners"][0]["items"]] == [anns]

    # rescheduling the late one past the others moves it to the end, not overdue
    app.reschedule_activity(CTX, late, _in(11))
    _caught_up(app)
    mine = activities.follow_ups(app.db, TODAY, owner="sam")
    assert [g["owner"] for g in mine["owners"]] == ["sam"]
    assert [i["id"] for i in mine["owners"][0]["items"]] == [later_late, soon, later, late]
    # a week later, more of them are overdue
    week = activities.follow_ups(app.db, _in(7), owner="sam")["owners"][0]
    assert [i["overdue"] for i in week["items"]] == [True, True, False, False]
    assert activities.follow_ups(app.db, TODAY, owner="nobody")["owners"] == []


def test_last_and_next_activity_of_a_subject(app: O2C, world: dict[str, str]) -> None:
    lead = world["lead"]
    _caught_up(app)
    assert activities.subject_activity(app.db, lead) == {"last_activity": None,
                                                         "next_follow_up": None}
    call = app.log_activity(_at(-3), "lead", lead, "call", "Intro", date=_in(-3)).id
    far = app.log_activity(CTX, "lead", lead, "task", "Far", due_date=_in(9)).id
    near = app.log_activity(_at(-2), "lead", lead, "task", "Near", due_date=_in(2),
                            date=_in(-2)).id
    old = app.log_activity(CTX, "lead", lead, "meeting", "Back-dated", date=_in(-10)).id
    _caught_up(app)
    seen = activities.subject_activity(app.db, lead)
    assert (seen["last_activity"]["id"], seen["last_activity"]["touched_on"]) == (far, TODAY)
    assert seen["next_follow_up"]["id"] == near
    app.complete_activity(_at(1), near, "Done early")
    _caught_up(app)
    seen = activities.subject_activity(app.db, lead)
    assert (seen["last_activity"]["id"], seen["last_activity"]["touched_on"]) == (near, _in(1))
    assert seen["next_follow_up"]["id"] == far
    assert {call, old}.isdisjoint({seen["last_activity"]["id"], seen["next_follow_up"]["id"]})


def test_staleness_on_the_pipeline_as_the_business_date_moves(
        app: O2C, world: dict[str, str]) -> None:
    lead, deal = world["lead"], world["deal"]
    other = app.capture_lead(CTX, "Lee", "Orbit", "lee@orbit.example", "show").id
    app.qualify_lead(CTX, other)
    closed = app.open_opportunity(CTX, world["customer"], "Lost deal", "10.00", "2030-01-31").id
    app.lose_opportunity(CTX, closed, "Price")
    app.change_stage(CTX, deal, "proposal")
    _caught_up(app)
    now = reports.pipeline(app.db, 2, today=TODAY, stale_days=14)
    assert (now["stale"]["count"], now["stale"]["leads"], now["stale"]["items"]) == (0, 0, [])
    assert all(s["count"] == 0 for s in now["stale"]["stages"])

    later = reports.pipeline(app.db, 2, today=_in(14), stale_days=14)
    assert {(i["kind"], i["id"]) for i in later["stale"]["items"]} == {
        ("lead", lead), ("lead", other), ("opportunity", deal)}
    assert (later["stale"]["leads"], later["stale"]["count"]) == (2, 3)
    assert {s["stage"]: s["count"] for s in later["stale"]["stages"]} == {
        "prospecting": 0, "qualification": 0, "proposal": 1, "negotiation": 0}
    assert reports.pipeline(app.db, 2, today=_in(13), stale_days=14)["stale"]["count"] == 0

    # an activity on day 10 keeps the deal fresh until day 24; the lead goes on idling
    app.log_activity(_at(10), "opportunity", deal, "email", "Follow-up", date=_in(10))
    app.disqualify_lead(CTX, other, "No budget")  # a closed lead is never stale
    _caught_up(app)
    day20 = reports.pipeline(app.db, 2, today=_in(20), stale_days=14)
    assert [(i["kind"], i["id"], i["days_idle"]) for i in day20["stale"]["items"]] == [
        ("lead", lead, 20)]
    day24 = reports.pipeline(app.db, 2, today=_in(24), stale_days=14)
    assert [i["id"] for i in day24["stale"]["items"]] == [lead, deal]
    assert day24["stale"]["items"][1]["last_activity_date"] == _in(10)
    # every field the pipeline had is still there
    assert {"stages", "open", "won", "lost", "win_rate", "leads",
            "lead_conversion_rate"} <= set(day24)


def test_the_activities_read_model_equals_a_rebuild(app: O2C, world: dict[str, str]) -> None:
    todo = app.log_activity(CTX, "lead", world["lead"], "task", "A", due_date=_in(2)).id
    app.log_activity(CTX, "opportunity", world["deal"], "meeting", "B", outcome="Good")
    app.reschedule_activity(CTX, todo, _in(3))
    app.complete_activity(_at(1), todo, "Done")
    app.log_activity(CTX, "customer", world["customer"], "task", "C", due_date=_in(1))
    projector = _caught_up(app)
    live = projector.digest("activities")
    rows = activities.follow_ups(app.db, TODAY)
    rebuild(projector, ["activities"])
    assert projector.digest("activities") == live
    assert activities.follow_ups(app.db, TODAY) == rows
    assert rows["open"] == 1
