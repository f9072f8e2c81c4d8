"""Activities in a real browser: a salesperson logs a call and two tasks on a lead, sees
them on the lead's activities and on the follow-ups page (the overdue one first),
completes one and reschedules the other; a refused date records nothing; the auditor
sees no forms (Debian's Chromium, like test_browser)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from test_browser import Watched, base_url, browser  # noqa: F401 - fixtures reused

from o2c.application import O2C, Context
from o2c.auth import create_token
from o2c.bootstrap import build_app
from o2c.config import Settings

TODAY = datetime.now(UTC).date()


def _day(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[O2C]:
    """A store with one lead (``base_url`` serves it)."""
    path: Path = tmp_path_factory.mktemp("activities") / "o2c.sqlite"
    app = build_app(Settings(database_url=f"sqlite:///{path}", currency="USD",
                             server_projector=False))
    app.capture_lead(Context(actor="seed"), "Dana Whitfield", "Apex Robotics",
                     "dana@apex.example", "web form")
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="module")
def tokens(store: O2C) -> dict[str, str]:
    return {role: create_token(store.db, role, f"activities-{role}")
            for role in ("sales", "auditor")}


def test_log_a_call_and_tasks_and_follow_them_up(browser: Browser,  # noqa: F811
                                                 base_url: str,  # noqa: F811
                                                 tokens: dict[str, str], store: O2C) -> None:
    user = Watched(browser, base_url, tokens["sales"])
    page = user.visit("/leads", "activities-leads")
    page.locator('tr[data-lead="dana@apex.example"]').get_by_role(
        "link", name="Activities").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Activities: Dana Whitfield (Apex Robotics)")

    page.get_by_label("Kind").select_option("call")
    page.get_by_label("Note").fill("Intro call with Dana")
    page.get_by_label("Outcome").fill("Wants a quote")
    page.get_by_role("button", name="Log").click()
    expect(page.get_by_role("status")).to_have_text("Activity logged.")
    expect(page.locator("#activities")).to_contain_text("Intro call with Dana")
    expect(page.locator("#last-activity")).to_have_text(f"call on {_day(0)}")

    page.get_by_label("Kind").select_option("task")
    page.get_by_label("Note").fill("Send the quote")
    page.get_by_label("Due (a task)").fill(_day(5))
    page.get_by_role("button", name="Log").click()
    expect(page.get_by_role("status")).to_have_text("Task set.")

    page.get_by_label("Kind").select_option("task")
    page.get_by_label("Note").fill("Chase the spec sheet")
    page.get_by_label("Date (empty: today)").fill(_day(-4))
    page.get_by_label("Due (a task)").fill(_day(-1))
    page.get_by_role("button", name="Log").click()
    expect(page.get_by_role("status")).to_have_text("Task set.")
    expect(page.locator("#next-follow-up")).to_have_text(
        f"Chase the spec sheet, due {_day(-1)}")

    # A task due before its own date is refused, saying why; nothing is recorded.
    head = store.db.head()
    page.get_by_label("Kind").select_option("task")
    page.get_by_label("Note").fill("Impossible")
    page.get_by_label("Due (a task)").fill(_day(-2))
    page.get_by_role("button", name="Log").click()
    expect(page.get_by_role("alert")).to_contain_text("before the task's date")
    assert store.db.head() == head

    page = user.visit("/follow-ups", "activities-follow-ups")
    expect(page.locator("#follow-ups-summary")).to_contain_text("2 open, 1 overdue")
    rows = page.locator("table[data-owner] tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Chase the spec sheet")
    expect(rows.nth(0)).to_contain_text("overdue 1 d")
    expect(rows.nth(1)).to_contain_text("Send the quote")

    first = rows.nth(0)
    first.get_by_label("Outcome").fill("Spec sheet received")
    first.get_by_role("button", name="Done").click()
    expect(page.get_by_role("status")).to_have_text("Task completed.")
    expect(page.locator("#follow-ups-summary")).to_contain_text("1 open, 0 overdue")

    remaining = page.locator("table[data-owner] tbody tr").nth(0)
    remaining.locator("summary").click()
    remaining.get_by_label("Due").fill(_day(9))
    remaining.get_by_role("button", name="Reschedule").click()
    expect(page.get_by_role("status")).to_have_text(f"Task rescheduled to {_day(9)}.")
    expect(page.locator("table[data-owner] tbody tr").nth(0)).to_contain_text(_day(9))
    page = user.visit("/follow-ups", "activities-follow-ups-after")
    page.get_by_role("link", name="mine").click()
    expect(page.locator("table[data-owner]")).to_have_attribute("data-owner", "activities-sales")
    page.get_by_label("Owner").fill("nobody")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#no-follow-ups")).to_have_text("No open follow-ups for nobody.")
    user.close()

    auditor = Watched(browser, base_url, tokens["auditor"])
    page = auditor.visit("/follow-ups", "activities-auditor")
    expect(page.locator("table[data-owner] tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name="Done")).to_have_count(0)
    page.get_by_role("link", name="Dana Whitfield (Apex Robotics)").first.click()
    expect(page.locator("#activities tbody tr")).to_have_count(3)
    expect(page.get_by_role("button", name="Log")).to_have_count(0)
    auditor.close()
