"""``o2c projections run|status|rebuild`` as a user drives them: a live follower and a
rebuild agree to the byte, and a tampered read model is repaired."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from novatech import (
    O2C_COMMAND,
    READ_MODELS,
    STORY,
    Cli,
    D,
    check_inventory,
    check_pipeline,
    environment,
)

from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.projections import Projector

# Projections: a live follower and a rebuild agree to the byte ------------------------------

def _status(store: Cli) -> dict[str, tuple[int, int, int]]:
    run = store.run("projections", "status")
    assert run.code == 0, run.err
    rows = {}
    for line in run.out.splitlines():
        found = re.fullmatch(r"\W*([a-z_]+)\W+(\d+)\W+(\d+)\W+(\d+)\W*", line)
        if found:
            rows[found[1]] = (int(found[2]), int(found[3]), int(found[4]))
    return rows


def _digests(url: str) -> dict[str, str]:
    app = build_app(Settings(database_url=url))
    try:
        projector = Projector(app.db, app.settings)
        return {name: projector.digest(name) for name in READ_MODELS}
    finally:
        app.close()


@contextmanager
def follower(store: Cli) -> Iterator[subprocess.Popen[str]]:
    """``o2c projections run``, the worker process, following the store until stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("O2C_")}
    worker = subprocess.Popen([*O2C_COMMAND, "projections", "run", "--interval", "0.01"],
                              env={**env, **environment(store.url)}, text=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert worker.stderr is not None
        assert "following the log from position 0" in worker.stderr.readline()
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            raise
        finally:
            if worker.stderr is not None:
                worker.stderr.close()


def _caught_up(store: Cli, seconds: float = 30) -> dict[str, tuple[int, int, int]]:
    deadline = time.monotonic() + seconds
    while True:
        status = _status(store)
        if all(lag == 0 for _, _, lag in status.values()) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_projections_follow_live_and_a_rebuild_gives_the_same_digests(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'o2c.sqlite3'}"
    store = Cli(url)
    with follower(store) as worker:
        assert store.run("demo").code == 0
        posted = store.run("journal", "post", "--memo", "Owner tops up the till",
                           "--line", "1000:debit:25.00", "--line", "3000:credit:25.00")
        assert posted.code == 0, posted.err
        status = _caught_up(store)
        assert worker.poll() is None, "the follower stopped by itself"
    assert worker.returncode == 0
    head, _ = store.head()
    assert status == dict.fromkeys(READ_MODELS, (head, head, 0))
    assert D(store.report("trial-balance")["accounts"][0]["balance"]) == D("146786.60")

    # Nobody follows now: status shows each read model one event behind the log.
    assert store.run("journal", "post", "--memo", "Till back to the bank", "--line",
                     "3000:debit:25.00", "--line", "1000:credit:25.00").code == 0
    assert _status(store) == dict.fromkeys(READ_MODELS, (head, head + 1, 1))
    before_catch_up = _digests(url)
    assert store.run("report", "inventory").code == 0  # a report catches every model up
    assert _status(store) == dict.fromkeys(READ_MODELS, (head + 1, head + 1, 0))
    live = _digests(url)
    assert live["trial_balance"] != before_catch_up["trial_balance"]
    assert live["pipeline"] == before_catch_up["pipeline"]  # no pipeline event since

    # Tamper with a read model (they are derived data, not the log): a rebuild repairs it.
    app = build_app(Settings(database_url=url))
    try:
        with app.db.transaction() as cur:
            cur.execute("UPDATE rm_inventory SET value = value + 1")
            cur.execute("DELETE FROM rm_leads")
    finally:
        app.close()
    assert _digests(url)["inventory"] != live["inventory"]
    rebuilt = store.run("projections", "rebuild")
    assert rebuilt.code == 0, rebuilt.err
    assert rebuilt.out.strip() == (f"rebuilt {', '.join(READ_MODELS)} to position {head + 1}")
    assert _digests(url) == live
    assert _status(store) == dict.fromkeys(READ_MODELS, (head + 1, head + 1, 0))

    one = store.run("projections", "rebuild", "trial_balance")
    assert one.code == 0, one.err
    assert one.out.strip() == f"rebuilt trial_balance to position {head + 1}"
    assert _digests(url) == live
    check_all_reports_after_till(store)


def check_all_reports_after_till(store: Cli) -> None:
    """The till entries cancel out: every figure is the story's again."""
    check_inventory(store)
    check_pipeline(store)
    balances = store.balances()
    expected = STORY.trial_balance()
    assert {c: d - cr for c, (d, cr) in balances.items()} == {
        c: d - cr for c, (d, cr) in expected.items()}
