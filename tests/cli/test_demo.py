"""``o2c demo`` and the reports as a user drives them: the NovaTech story to the cent.

The figures expected come from ``novatech.Story``, which re-tells demo.py and
works the books out on its own. Most commands run in-process; the demo itself
and a few exit statuses go through the installed ``o2c`` console script.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from novatech import (
    ACCOUNTS,
    CABLE,
    DAYS,
    DONE_TASK,
    FACTS,
    GATEWAY,
    OPEN_TASKS,
    SALES_REP,
    SENSOR,
    STORY,
    ZERO,
    Cli,
    D,
    Demo,
    check_all_reports,
    check_ar_aging,
    check_balance_sheet,
    check_inventory,
    check_pipeline,
    check_pnl,
    check_trial_balance,
    closed_through,
    days_ago,
    money,
    one_line_reason,
    record_demo,
)

from o2c import demo as story
from o2c.bootstrap import build_app
from o2c.config import Settings


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo, recorded once by the installed script on a fresh SQLite file, read-only."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'o2c.sqlite3'}"
    recorded = record_demo(url)
    assert recorded.run.code == 0, recorded.run.err
    return recorded


def test_the_story_model_is_the_novatech_story() -> None:
    """The independent model reproduces the facts demo.py states in prose."""
    assert FACTS["helios_available"] == 70  # "Helios order not confirmed: 100 wanted, 70 ..."
    assert [i.total for o in STORY.orders for i in o.invoices] == [
        D("7311.60"), D("2883.60"), D("5158.08"), D("2634.10")]
    assert STORY.value(SENSOR) == D("2317.00")  # 50 @ 45.50 and the one returned @ 42.00
    assert STORY.value(GATEWAY) == D("3410.00")  # 12 left, one lost to the count: 11 @ 310.00
    # Apex's first invoice, due 30 days before the end, paid 12 days before it: 18 days late
    assert STORY.late is not None
    assert (STORY.late.due, STORY.late.payments) == (30, [(12, D("7311.60"))])
    # Apex's second invoice and Nimbus's are paid in part and stay open with the rest
    assert [(i.total, i.open()) for i in STORY.part_paid] == [
        (D("2883.60"), D("1883.60")), (D("5158.08"), D("3158.08"))]


def test_the_story_model_discounts_holds_and_returns_as_demo_py_says() -> None:
    """Cobalt's order, worked by hand: 20 sensors at its list price 84.00 = 1680.00; 130
    cables at 7.45 less 12.5 % = 847.4375, rounded 847.44; 2527.44 less 3.5 % = 2438.9796,
    rounded 2438.98; tax 195.1184, rounded 195.12; 2634.10 in all, over the 2500.00 limit."""
    cobalt = FACTS["cobalt"]
    [invoice] = cobalt.invoices
    assert (invoice.net, invoice.tax, invoice.total) == (D("2438.98"), D("195.12"),
                                                         D("2634.10"))
    assert FACTS["credit_refused"] == {"limit": D("2500.00"), "open": ZERO, "unshipped": ZERO,
                                       "order": D("2634.10"), "exposure": D("2634.10")}
    # the return: a sensor of the 20 that left @ 42.00, ten cables of 130 that left for
    # 416.00; credited 149.1875 / 2527.4375 of the invoice's net and tax
    assert FACTS["cobalt_return"] == {
        "days_ago": 6, "restocked": D("42.00"), "damaged": D("32.00"), "net": D("143.97"),
        "tax": D("11.52"), "total": D("155.49"), "applied": D("155.49"), "unapplied": ZERO}
    assert invoice.open() == D("2478.61")
    assert (STORY.on_hand(SENSOR), STORY.on_hand(CABLE)) == (D(51), D(250))


def test_demo_prints_the_pipeline_inventory_trial_balance_pnl_and_balance_sheet(
        demo: Demo) -> None:
    out = demo.run.out
    assert "Traceback" not in demo.run.err
    titles = ("Pipeline", "Inventory", "Trial Balance", "Profit and Loss", "Balance Sheet")
    found = [re.search(rf"^\s*{title}\s*$", out, re.MULTILINE) for title in titles]
    assert all(found), titles
    assert [f.start() for f in found if f] == sorted(f.start() for f in found if f)
    assert "Helios order not confirmed: NT-SENSOR-100: 100 wanted, 70 available" in out
    assert "win rate 66.7% · leads 8: 5 converted, 2 disqualified, 1 open" in out
    assert "total value 6527.00" in out
    refused = FACTS["credit_refused"]
    assert re.search(rf"Cobalt order held for credit: order SO-\w+ would take customer Cobalt "
                     rf"Medical past its credit limit: limit {refused['limit']};", out)
    assert (f"this order {refused['order']} (with tax); total exposure {refused['exposure']}, "
            f"over by {refused['exposure'] - refused['limit']}") in out
    pnl = STORY.profit_and_loss(demo.today, DAYS, 0)
    assert (f"net profit {money(pnl['net_profit'])} (from {days_ago(demo.today, DAYS)} to "
            f"{demo.today.isoformat()}") in out
    for month in pnl["months"]:
        assert month in out
    sheet = STORY.balance_sheet()
    assert re.search(rf"Unclosed profit .* {money(sheet['unclosed_profit'])} ", out)
    assert re.search(rf"Liabilities and equity .* {money(sheet['assets'][1])} ", out)
    assert f"(as of {demo.today.isoformat()})" in out
    closed = closed_through(demo.today)
    assert f"the books are closed through {closed.isoformat()}" in out
    total = money(sum((d for d, _ in STORY.trial_balance().values()), ZERO))
    assert f"totals: debit {total} credit {total} balance 0.00" in out
    for code, (debit, credit) in STORY.trial_balance().items():
        assert re.search(rf"{code} .* {money(debit)} .* {money(credit)} .* "
                         rf"{money(debit - credit)} ", out), code


def test_inventory_is_right_to_the_cent(demo: Demo) -> None:
    check_inventory(demo.cli)


def test_trial_balance_is_right_to_the_cent_and_balances(demo: Demo) -> None:
    check_trial_balance(demo.cli)


def test_pipeline_counts_amounts_and_rates(demo: Demo) -> None:
    check_pipeline(demo.cli)


def test_ar_aging_today(demo: Demo) -> None:
    check_ar_aging(demo.cli, demo.today)
    report = demo.cli.report("ar-aging", "--as-of", demo.today.isoformat())
    assert report["total_open"] == "7520.29"
    assert [(i["open"], i["bucket"]) for i in report["invoices"]] == [
        ("1883.60", "1-30"), ("2478.61", "current"), ("3158.08", "current")]


# Formats -----------------------------------------------------------------------------------

def _json_rows(name: str, report: dict[str, Any]) -> list[dict[str, str]]:
    if name == "pipeline":
        rows = [*report["stages"], {"stage": "won", **report["won"], "weighted_amount": ""},
                {"stage": "lost", **report["lost"], "weighted_amount": ""}]
    elif name == "inventory":
        rows = report["items"]
    elif name == "trial-balance":
        rows = [{k: v for k, v in a.items() if k != "normal_balance"} for a in report["accounts"]]
    else:
        rows = report["invoices"]
    return [{k: str(v) for k, v in row.items()} for row in rows]


@pytest.mark.parametrize(("name", "header", "figures"), [
    ("pipeline", "stage,count,amount,weighted_amount", ["18500.00", "14800.00", "66.7%"]),
    ("inventory", "sku,name,on_hand,reserved,available,value", ["2317.00", "6527.00"]),
    ("trial-balance", "code,name,type,debit,credit,balance", ["146761.60", "-16511.01"]),
    ("ar-aging", "invoice_number,order_id,customer_id,issued_on,due_on,total,paid,open,"
                 "days_overdue,bucket", ["1883.60", "total open 7520.29"]),
])
def test_each_report_as_table_json_and_csv(demo: Demo, name: str, header: str,
                                           figures: list[str]) -> None:
    as_of = ["--as-of", demo.today.isoformat()] if name == "ar-aging" else []
    report = demo.cli.report(name, *as_of)
    table = demo.cli.run("report", name, *as_of)
    assert table.code == 0, table.err
    assert name.replace("-", " ").title() in table.out
    for figure in figures:
        assert figure in table.out
    as_csv = demo.cli.run("report", name, "--format", "csv", *as_of)
    assert as_csv.code == 0, as_csv.err
    columns = as_csv.out.splitlines()[0].split(",")
    assert columns[:len(header.split(","))] == header.split(",")  # more may follow
    assert list(csv.DictReader(io.StringIO(as_csv.out))) == _json_rows(name, report)
    assert demo.cli.run("report", name, "--format", "json", *as_of).out == json.dumps(
        report, indent=2) + "\n"


# Time travel: as of an effective date, as known at a recording time -----------------------

def assert_balances(store: Cli, expected: dict[str, tuple[Decimal, Decimal]],
                    *options: str) -> None:
    report = store.report("trial-balance", *options)
    got = {a["code"]: (D(a["debit"]), D(a["credit"]), D(a["balance"]))
           for a in report["accounts"]}
    assert got == {code: (d, c, d - c) for code, (d, c) in expected.items()}
    total = sum((d for d, _ in expected.values()), ZERO)
    assert report["totals"] == {"debit": money(total), "credit": money(total), "balance": "0.00"}


def test_known_at_a_time_before_the_demo_ran_is_an_empty_trial_balance(demo: Demo) -> None:
    before = demo.before.isoformat()
    assert_balances(demo.cli, dict.fromkeys(ACCOUNTS, (ZERO, ZERO)), "--known-at", before)
    report = demo.cli.report("trial-balance", "--known-at", before)
    assert report["known_at"] == demo.before.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert report["totals"]["debit"] == "0.00"


def test_known_at_now_is_the_whole_story(demo: Demo) -> None:
    now = datetime.now(UTC).isoformat()
    assert_balances(demo.cli, STORY.trial_balance(), "--known-at", now)


def _recorded_at_second_sensor_receipt(store: Cli) -> str:
    history = store.run("audit", "history", SENSOR, "--format", "json").json()
    [step] = [s for s in history if s["event"] == "StockItem.Received"
              and s["data"]["unit_cost"] == "45.50"]
    return str(step["recorded_at"])


def test_known_at_mid_story_shows_only_what_was_recorded_by_then(demo: Demo) -> None:
    moment = _recorded_at_second_sensor_receipt(demo.cli)
    expected = STORY.trial_balance(through="sensors 2")
    assert expected["1200"] == (D("15825.00"), ZERO)  # the four receipts, nothing shipped
    assert_balances(demo.cli, expected, "--known-at", moment)


@pytest.mark.parametrize("days", [76, 75, 74, 61, 60, 59, 58, 41, 40, 39, 35, 33, 32, 30,
                                  26, 25, 24, 16, 15, 13, 12, 11, 10, 7, 6, 5, 4, 0])
def test_as_of_a_date_excludes_later_postings(demo: Demo, days: int) -> None:
    assert_balances(demo.cli, STORY.trial_balance(as_of=days),
                    "--as-of", days_ago(demo.today, days))


def test_as_of_and_known_at_together(demo: Demo) -> None:
    moment = _recorded_at_second_sensor_receipt(demo.cli)
    expected = STORY.trial_balance(as_of=70, through="sensors 2")
    assert expected["1200"] == (D("13550.00"), ZERO)  # the back-dated second layer is later
    assert_balances(demo.cli, expected, "--as-of", days_ago(demo.today, 70),
                    "--known-at", moment)


@pytest.mark.parametrize("days", [59, 35, 31, 30, 29, 26, 25, 20, 13, 12, 10, 9, 7, 6, 5])
def test_ar_aging_as_of_a_past_date_agrees_with_the_receivable_then(demo: Demo,
                                                                    days: int) -> None:
    check_ar_aging(demo.cli, demo.today, days)


def test_the_late_invoice_is_overdue_before_it_is_paid_and_gone_after(demo: Demo) -> None:
    """Apex's first invoice fell due 30 days before the end and was paid 12 days before
    it: as of 13 days before the end it is 17 days overdue, in 1-30; the day it is paid
    it leaves the aging."""
    before = check_ar_aging(demo.cli, demo.today, 13)
    first = before["invoices"][0]
    assert (first["open"], first["days_overdue"], first["bucket"]) == ("7311.60", 17, "1-30")
    assert first["due_on"] == days_ago(demo.today, 30)
    assert before["buckets"][1] == {"bucket": "1-30", "count": 1, "amount": "7311.60"}
    after = check_ar_aging(demo.cli, demo.today, 12)
    assert first["invoice_number"] not in [i["invoice_number"] for i in after["invoices"]]


def test_the_part_paid_invoices_stay_open_with_the_rest(demo: Demo) -> None:
    report = check_ar_aging(demo.cli, demo.today)
    assert [(i["total"], i["paid"], i["open"]) for i in report["invoices"]] == [
        ("2883.60", "1000.00", "1883.60"), ("2634.10", "155.49", "2478.61"),
        ("5158.08", "2000.00", "3158.08")]


def test_pnl_of_the_story_and_of_each_month_is_right_to_the_cent(demo: Demo) -> None:
    check_pnl(demo.cli, demo.today)
    closed = closed_through(demo.today)
    month = (demo.today - closed.replace(day=1)).days, (demo.today - closed).days
    check_pnl(demo.cli, demo.today, *month)  # the closed month alone
    check_pnl(demo.cli, demo.today, month[1] - 1, 0)  # what came after it
    whole = STORY.profit_and_loss(demo.today, DAYS, 0)
    assert (whole["revenue"]["total"], whole["expenses"]["total"], whole["net_profit"]) == (
        D("16511.01"), D("9298.00"), D("7213.01"))
    # 6770 + 2670 + 4776 + 2438.98 - 143.97; 7774 + 1256 - 74 (COGS) + 310 + 32 (losses)


@pytest.mark.parametrize("days", [0, 12, 40, 75])
def test_balance_sheet_is_right_to_the_cent_and_balances(demo: Demo, days: int) -> None:
    check_balance_sheet(demo.cli, demo.today, days)


def test_balance_sheet_at_the_closed_month_end(demo: Demo) -> None:
    check_balance_sheet(demo.cli, demo.today, (demo.today - closed_through(demo.today)).days)


def test_the_closed_month_refuses_a_posting_and_records_nothing(demo: Demo) -> None:
    closed = closed_through(demo.today)
    shown = demo.cli.run("periods", "show")
    assert shown.code == 0, shown.err
    assert f"books closed through {closed.isoformat()}" in shown.out
    head = demo.cli.head()
    for day in (closed, closed.replace(day=1)):
        one_line_reason(demo.cli.run("journal", "post", "--memo", "Late accrual",
                                     "--line", "5100:debit:10.00",
                                     "--line", "2000:credit:10.00", "--date", day.isoformat()),
                        "period_closed")
    assert demo.cli.head() == head


# Issue 13: the held order, the return, the follow-ups ---------------------------------------

def _cobalt(store: Cli, today: date) -> dict[str, Any]:
    """Cobalt's row of the AR aging, and its invoice's."""
    report = store.report("ar-aging", "--as-of", today.isoformat())
    [customer] = [c for c in report["customers"] if c["customer_name"] == "Cobalt Medical"]
    [invoice] = [i for i in report["invoices"] if i["customer_id"] == customer["customer_id"]]
    return {**customer, "invoice": invoice}


def check_held_and_released(store: Cli, today: date) -> None:
    """The limit change and finance's release are in the customer's audit stream; the
    refused confirmation recorded nothing (the release follows the order's placing on the
    log) and the order was confirmed once, after the release."""
    cobalt = _cobalt(store, today)
    customer = store.run("audit", "history", cobalt["customer_id"], "--format", "json").json()
    assert [e["event"] for e in customer] == [
        "Customer.Registered", "Customer.CreditLimitChanged", "Customer.CreditReleased"]
    limit, release = customer[1], customer[2]
    assert (limit["data"]["credit_limit"], limit["actor"]) == ("2500.00", "demo:finance")
    assert release["data"]["order_id"] == cobalt["invoice"]["order_id"]
    assert release["data"]["reason"] == "Signed purchase order and a bank reference on file"
    assert (release["actor"], release["data"]["released_on"]) == ("demo:finance",
                                                                  days_ago(today, 27))
    order = store.run("audit", "history", cobalt["invoice"]["order_id"], "--format",
                      "json").json()
    assert [e["event"] for e in order] == ["SalesOrder.Placed", "SalesOrder.Confirmed",
                                           "SalesOrder.Shipped", "SalesOrder.Invoiced",
                                           "SalesOrder.Returned"]
    assert order[0]["position"] + 1 == release["position"] < order[1]["position"]
    assert (cobalt["credit_limit"], D(cobalt["exposure"])) == (
        "2500.00", FACTS["cobalt"].invoices[0].open())


def check_return(store: Cli, today: date) -> None:
    """The return's credit note is the first of the CN series of its year; it settled
    part of Cobalt's invoice (AR) and the sound sensor is back in stock (inventory)."""
    cobalt = _cobalt(store, today)
    order = store.run("audit", "history", cobalt["invoice"]["order_id"], "--format",
                      "json").json()
    returned = order[-1]["data"]
    year = date.fromisoformat(days_ago(today, 6)).year
    assert returned["credit_note_number"] == f"CN-{year}-000001"
    note = FACTS["cobalt_return"]
    assert (returned["net"], returned["tax"], returned["total"], returned["unapplied"]) == (
        money(note["net"]), money(note["tax"]), money(note["total"]), "0.00")
    assert (returned["restocked_cost"], returned["damaged_cost"]) == (
        money(note["restocked"]), money(note["damaged"]))
    assert (cobalt["invoice"]["paid"], cobalt["invoice"]["open"], cobalt["open"]) == (
        money(note["applied"]), money(FACTS["cobalt"].invoices[0].open()), "2478.61")
    assert cobalt["unapplied_credit"] == "0.00"
    items = {i["sku"]: i for i in store.report("inventory")["items"]}
    assert (items[SENSOR]["on_hand"], items[CABLE]["on_hand"]) == ("51", "250")
    # the ledger's receivable and stock moved with the return, dated its day
    before, after = STORY.trial_balance(as_of=7), STORY.trial_balance(as_of=6)
    assert after["1100"][1] - before["1100"][1] == note["total"]
    assert after["1200"][0] - before["1200"][0] == note["restocked"]
    assert_balances(store, after, "--as-of", days_ago(today, 6))


def check_follow_ups(store: Cli, today: date) -> None:
    """The open tasks, overdue first; the completed one is not among them."""
    report = store.run("follow-ups", "--as-of", today.isoformat(), "--format", "json").json()
    [rep] = report["owners"]
    assert (rep["owner"], rep["open"], rep["overdue"]) == (SALES_REP, 2, 1)
    assert (report["open"], report["overdue"]) == (2, 1)
    assert [(i["note"], i["due_date"], i["overdue"], i["days_overdue"]) for i in rep["items"]] == [
        (note, days_ago(today, due), due > 0, max(due, 0)) for note, due in OPEN_TASKS]
    assert rep["items"][0]["subject"] == "Sam Ito (Vertex Labs)"
    assert DONE_TASK not in [i["note"] for i in rep["items"]]
    table = store.run("follow-ups", "--as-of", today.isoformat())
    assert table.code == 0, table.err
    assert table.out.index(OPEN_TASKS[0][0][:20]) < table.out.index(OPEN_TASKS[1][0][:20])


def test_the_order_over_its_limit_was_held_and_released_by_finance(demo: Demo) -> None:
    check_held_and_released(demo.cli, demo.today)


def test_the_partial_return_has_a_cn_credit_note_and_moves_stock_and_ar(demo: Demo) -> None:
    check_return(demo.cli, demo.today)


def test_follow_ups_list_the_overdue_task_first(demo: Demo) -> None:
    check_follow_ups(demo.cli, demo.today)


def test_a_demo_cut_short_after_the_release_is_finished_without_the_refusal(
        tmp_path: Path) -> None:
    """Cut short between finance's release and the confirmation, the story is finished by
    the next run (which skips the refused confirmation: the order is released) and its
    figures are the story's."""
    today = date.fromisoformat("2026-03-20")
    url = f"sqlite:///{tmp_path / 'o2c.sqlite3'}"
    app = build_app(Settings(database_url=url))
    confirm = app.confirm_order

    def cut(ctx: Any, order_id: object) -> Any:
        if ctx.idempotency_key == story.KEY_PREFIX + "confirm-cobalt":
            raise KeyboardInterrupt
        return confirm(ctx, order_id)

    app.confirm_order = cut  # type: ignore[method-assign]
    said: list[str] = []
    try:
        with pytest.raises(KeyboardInterrupt):
            story.run(app, say=said.append, today=today)
    finally:
        app.close()
    assert any("Cobalt order held for credit" in line for line in said)
    app = build_app(Settings(database_url=url))
    said.clear()
    try:
        story.run(app, say=said.append, finishing=today)
    finally:
        app.close()
    assert not any("held for credit" in line for line in said)
    store = Cli(url)
    check_all_reports(store, today)
    check_held_and_released(store, today)


# The story on other calendars ------------------------------------------------------------

@pytest.mark.parametrize("last_day", [
    "2026-02-10",  # over a new year: invoices of two series, December 2025 closed
    "2026-05-15",  # begins on 1 March: March itself is the month closed
    "2024-04-20",  # a leap February; March 2024 closed
])
def test_the_story_ending_on_another_day_is_right_to_the_cent(tmp_path: Path,
                                                              last_day: str) -> None:
    today = date.fromisoformat(last_day)
    url = f"sqlite:///{tmp_path / 'o2c.sqlite3'}"
    app = build_app(Settings(database_url=url))
    try:
        ids = story.run(app, say=lambda _: None, today=today)
    finally:
        app.close()
    assert ids["closed_through"] == closed_through(today).isoformat()
    store = Cli(url)
    check_all_reports(store, today)
    check_ar_aging(store, today, 13)
    check_balance_sheet(store, today, (today - closed_through(today)).days)
    check_held_and_released(store, today)
    check_return(store, today)
    check_follow_ups(store, today)
    one_line_reason(store.run("journal", "post", "--memo", "x", "--line", "1000:debit:1.00",
                              "--line", "3000:credit:1.00",
                              "--date", closed_through(today).isoformat()), "period_closed")


# Bad input: exit 2 with a one-line reason --------------------------------------------------

@pytest.mark.parametrize(("args", "words"), [
    (["report", "trial-balance", "--as-of", "notadate"], ["bad date", "notadate"]),
    (["report", "trial-balance", "--as-of", "2026-02-30"], ["bad date"]),
    (["report", "ar-aging", "--as-of", "yesterday"], ["bad date", "yesterday"]),
    (["report", "trial-balance", "--known-at", "notatime"], ["bad date", "notatime"]),
    (["report", "pipeline", "--known-at", "2026-01-01T00:00:00Z"], ["--known-at"]),
    (["projections", "rebuild", "nope"], ["unknown read model", "nope", "trial_balance"]),
    (["projections", "rebuild", "inventory", "nope"], ["nope"]),
    (["audit", "history", "no-such-aggregate"], ["no events", "no-such-aggregate"]),
])
def test_bad_input_exits_2_with_a_one_line_reason(demo: Demo, args: list[str],
                                                  words: list[str]) -> None:
    head = demo.cli.head()
    one_line_reason(demo.cli.run(*args), *words)
    assert demo.cli.head() == head


def test_unknown_report_name_exits_2_naming_it(demo: Demo) -> None:
    run = demo.cli.script("report", "nope")
    assert run.code == 2
    assert "'nope' is not one of" in run.err
    assert run.out == ""


def test_unknown_report_name_is_a_one_line_reason(demo: Demo) -> None:
    one_line_reason(demo.cli.script("report", "nope"), "nope")


@pytest.mark.parametrize("name", ["pipeline", "inventory"])
def test_as_of_on_a_report_without_dates_is_refused(demo: Demo, name: str) -> None:
    one_line_reason(demo.cli.run("report", name, "--as-of", "2000-01-01"), "--as-of")


@pytest.mark.parametrize(("moment", "everything"), [("9999-12-31T23:00:00-05:00", True),
                                                    ("0001-01-01T00:30:00+01:00", False)])
def test_known_at_out_of_range_is_refused_or_means_before_or_after_all(
        demo: Demo, moment: str, everything: bool) -> None:
    """Either answer is sound: exit 2 with a one-line reason, or the books as known after
    everything (year 10000) or before anything (year 0). A traceback is not."""
    run = demo.cli.run("report", "trial-balance", "--known-at", moment, "--format", "json")
    if run.code == 2:
        one_line_reason(run, "known")
        return
    expected = STORY.trial_balance() if everything else dict.fromkeys(ACCOUNTS, (ZERO, ZERO))
    assert_balances(demo.cli, expected, "--known-at", moment)


@pytest.mark.parametrize("url", ["mysql://db/o2c", "sqlite:///"])
def test_an_unusable_store_exits_2(url: str) -> None:
    for args in (["report", "trial-balance"], ["demo"], ["projections", "status"]):
        one_line_reason(Cli(url).run(*args), "O2C_DATABASE_URL", "sqlite:///")


@pytest.mark.parametrize("url", ["mysql://db/o2c", "sqlite:///"])
def test_demo_reset_on_an_unusable_store_exits_2(url: str) -> None:
    one_line_reason(Cli(url).run("demo", "--reset"), "O2C_DATABASE_URL")


def test_a_bad_setting_is_named_in_the_reason(tmp_path: Path) -> None:
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}", O2C_CURRENCY="US")
    one_line_reason(store.run("report", "pipeline"), "O2C_CURRENCY", "ISO 4217")


# The demo runs once per store; --reset starts again ---------------------------------------

def test_demo_twice_refuses_and_records_nothing_then_reset_starts_again(
        tmp_path: Path) -> None:
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}")
    first = store.run("demo")
    assert first.code == 0, first.err
    position, digest = store.head()
    assert position > 100
    again = store.run("demo")
    one_line_reason(again, "already holds the NovaTech demo", "o2c demo --reset")
    assert again.out == ""  # not even the reports
    assert store.head() == (position, digest)
    reset = store.run("demo", "--reset")
    assert reset.code == 0, reset.err
    new_position, new_digest = store.head()
    assert new_position == position  # the same story, recorded once
    assert new_digest != digest  # ... on a new log
    check_trial_balance(store)


def test_demo_reset_erases_a_percent_encoded_sqlite_path(tmp_path: Path) -> None:
    folder = tmp_path / "my books"
    folder.mkdir()
    store = Cli(f"sqlite:///{quote(str(folder / 'o2c.sqlite3'))}")
    assert "%20" in store.url
    assert store.run("demo").code == 0
    assert (folder / "o2c.sqlite3").exists()
    reset = store.run("demo", "--reset")
    assert reset.code == 0, reset.err


# PostgreSQL ------------------------------------------------------------------------------

@pytest.mark.postgres
def test_demo_on_postgresql_right_to_the_cent_refuses_twice_and_resets(
        pg_schema_url: str) -> None:
    recorded = record_demo(pg_schema_url)
    store = recorded.cli
    assert recorded.run.code == 0, recorded.run.err
    assert "total value 6527.00" in recorded.run.out
    assert "Profit and Loss" in recorded.run.out
    check_all_reports(store, recorded.today)
    check_held_and_released(store, recorded.today)
    check_return(store, recorded.today)
    check_follow_ups(store, recorded.today)
    check_ar_aging(store, recorded.today, 13)  # the late invoice overdue
    closed = closed_through(recorded.today)
    check_balance_sheet(store, recorded.today, (recorded.today - closed).days)
    head = store.head()
    one_line_reason(store.run("journal", "post", "--memo", "x", "--line", "1000:debit:1.00",
                              "--line", "3000:credit:1.00", "--date", closed.isoformat()),
                    "period_closed")
    assert store.head() == head
    assert_balances(store, STORY.trial_balance(as_of=59), "--as-of",
                    days_ago(recorded.today, 59))
    assert_balances(store, dict.fromkeys(ACCOUNTS, (ZERO, ZERO)),
                    "--known-at", recorded.before.isoformat())
    head = store.head()
    one_line_reason(store.script("demo"), "already holds the NovaTech demo")
    assert store.head() == head
    assert store.run("demo", "--reset").code == 0
    position, digest = store.head()
    assert (position, digest != head[1]) == (head[0], True)
    check_trial_balance(store)
