"""Use cases of sales follow-up: calls, e-mails, meetings and tasks logged against a lead,
an opportunity or a customer; tasks completed or rescheduled."""

from __future__ import annotations

from o2c.application.base import UseCaseBase, effective_date
from o2c.application.runner import Attempt, Outcome, Result, command
from o2c.domain.activity import CUSTOMER, LEAD, OPPORTUNITY, Activity
from o2c.domain.customer import Customer
from o2c.domain.lead import Lead
from o2c.domain.opportunity import Opportunity

#: The aggregate class of each kind of subject an activity may name.
SUBJECT_CLASSES: dict[str, type[Lead] | type[Opportunity] | type[Customer]] = {
    LEAD: Lead, OPPORTUNITY: Opportunity, CUSTOMER: Customer}


def owner_of(actor: str) -> str:
    """The name in an actor (``role:name#token-id`` -> ``name``): who owns an activity
    logged without an owner."""
    name = actor.split(":", 1)[-1].rsplit("#", 1)[0]
    return name or actor


class Activities(UseCaseBase):
    """Activities and follow-ups (sales)."""

    @command("log_activity")
    def log_activity(self, run: Attempt, subject_kind: str, subject_id: object, kind: object,
                     note: object, *, due_date: object = None, owner: object = None,
                     outcome: object = None, date: object = None) -> Outcome:
        """Logs a call, e-mail, meeting or task against an existing lead, opportunity or
        customer (404 otherwise). ``date``: when it happened, default the business date,
        never after it; ``owner``: default the actor's name; a task needs a ``due_date`` on or
        after its date. ``If-Match`` is the subject's version."""
        subject = self.get(SUBJECT_CLASSES[subject_kind], str(subject_id), subject_kind)
        run.check_version(subject)
        on = effective_date(run, date)
        activity = Activity.log(subject_kind, subject.id, kind, note, on=on,
                                owner=owner_of(run.ctx.actor) if owner is None else owner,
                                outcome=outcome, due_date=due_date)
        return Result(str(activity.id), activity.version, extra=self._extra(activity)), [
            activity]

    @command("complete_activity", id="activity_id")
    def complete_activity(self, run: Attempt, activity_id: object, outcome: object = None,
                          date: object = None) -> Outcome:
        """Marks an open task done on ``date`` (default the business date, never after it,
        nor before the task's date), with its outcome."""
        activity = self._activity(run, activity_id)
        activity.complete(outcome, effective_date(run, date))
        return Result(str(activity.id), activity.version, extra=self._extra(activity)), [
            activity]

    @command("reschedule_activity", id="activity_id")
    def reschedule_activity(self, run: Attempt, activity_id: object,
                            due_date: object) -> Outcome:
        """Gives an open task another due date."""
        activity = self._activity(run, activity_id)
        activity.reschedule(due_date)
        return Result(str(activity.id), activity.version, extra=self._extra(activity)), [
            activity]

    def activity(self, activity_id: object) -> Activity:
        """An activity by id."""
        return self.get(Activity, str(activity_id), "activity")

    def _activity(self, run: Attempt, activity_id: object) -> Activity:
        activity = self.activity(activity_id)
        run.check_version(activity)
        return activity

    @staticmethod
    def _extra(activity: Activity) -> dict[str, str | None]:
        return {"status": activity.status,
                "due_date": activity.due_date.isoformat() if activity.due_date else None}
