"""Foot-guns closed: a reset that would lose more than the demo, a demo cut short, a report
in the wrong place, a read-only copy, a bad setting, a file that cannot be written.

Each test drives ``o2c`` as an operator would (in-process through typer, or the
installed script where a terminal, a pipe or a signal matters) and checks what
the store holds afterwards, not only the exit status.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from novatech import O2C_COMMAND, Cli, check_all_reports, one_line_reason

from o2c import demo as story
from o2c.application import Context
from o2c.bootstrap import build_app
from o2c.cli.operations import demo_begun
from o2c.config import Settings
from o2c.domain.ledger_account import DEFAULT_CHART
from support import PG_URL

READERS = (["report", "trial-balance"], ["report", "pipeline", "--format", "json"],
           ["audit", "verify"], ["audit", "history", "1000"], ["export", "beancount"],
           ["projections", "status"])


def _post(store: Cli, memo: str = "Owner's top-up", amount: str = "25.00") -> None:
    run = store.run("journal", "post", "--memo", memo, "--line", f"1000:debit:{amount}",
                    "--line", f"3000:credit:{amount}")
    assert run.code == 0, run.err


def _popen(store: Cli, *args: str, **options: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("O2C_")}
    return subprocess.Popen([*O2C_COMMAND, *args], env={**env, **store.env}, text=True,
                            **options)  # type: ignore[call-overload]


def _schema_tables(url: str) -> list[str]:
    schema = url.split("schema=")[1]
    with psycopg.connect(PG_URL.split("?")[0]) as conn:
        return [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall()]


# o2c demo --reset erases only the demo without asking ---------------------------------------

def test_reset_refuses_a_store_holding_more_than_the_demo(database_url: str) -> None:
    store = Cli(database_url)
    _post(store)  # actor "cli": not the demo's
    app = build_app(Settings(database_url=database_url))
    try:  # actor "system", like the store's own opening, but beyond it
        app.post_journal_entry(Context(), "Untold", [{"account": "1000", "debit": "1.00"},
                                                     {"account": "3000", "credit": "1.00"}])
    finally:
        app.close()
    head = store.head()
    refused = store.run("demo", "--reset")  # standard input is not a terminal here
    one_line_reason(refused, "2 events the demo did not record", "cli", "system", "--yes")
    assert refused.out == ""
    assert store.head() == head  # nothing erased, nothing recorded
    reset = store.run("demo", "--reset", "--yes")
    assert reset.code == 0, reset.err
    assert "Owner's top-up" not in store.run("export", "beancount").out
    check_all_reports(store, datetime.now(UTC).date())


def test_reset_of_the_demo_alone_does_not_ask(tmp_path: Path) -> None:
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}")
    assert store.run("demo").code == 0
    first = store.head()
    again = store.run("demo", "--reset")  # no terminal, no --yes: the demo alone goes
    assert again.code == 0, again.err
    assert store.head()[0] == first[0]
    assert store.head()[1] != first[1]


def test_reset_asks_at_a_terminal(tmp_path: Path) -> None:
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}")
    _post(store)
    head = store.head()
    for answer, code in (("n", 2), ("y", 0)):
        controller, terminal = os.openpty()
        try:
            process = _popen(store, "demo", "--reset", stdin=terminal, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
            os.write(controller, f"{answer}\n".encode())
            _out, err = process.communicate(timeout=120)
        finally:
            os.close(controller)
            os.close(terminal)
        assert process.returncode == code, err
        assert "1 event the demo did not record" in err
        if answer == "n":
            assert "nothing erased" in err
            assert store.head() == head
    assert "Owner's top-up" not in store.run("export", "beancount").out


def test_reset_refuses_a_file_that_is_not_an_o2c_store(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "accounts.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE customers (name TEXT)")
        conn.execute("INSERT INTO customers VALUES ('precious')")
    before = other.read_bytes()
    one_line_reason(Cli(f"sqlite:///{other}").run("demo", "--reset"),
                    "not an o2c store", "--yes")
    assert other.read_bytes() == before


def test_yes_without_reset_is_refused(tmp_path: Path) -> None:
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}")
    one_line_reason(store.run("demo", "--yes"), "--yes goes with --reset")
    assert not (tmp_path / "o2c.sqlite3").exists()


# A demo cut short is finished by the next ---------------------------------------------------

class Interrupted(Exception):
    pass


def test_a_demo_cut_short_is_finished_by_the_next(database_url: str) -> None:
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        if len(said) == 4:  # the pipeline has moved; nothing is invoiced yet
            raise Interrupted

    app = build_app(Settings(database_url=database_url))
    try:
        with pytest.raises(Interrupted):
            story.run(app, say=say)
        assert demo_begun(app) == (datetime.now(UTC).date(), False)
    finally:
        app.close()
    store = Cli(database_url)
    finished = store.run("demo")
    assert finished.code == 0, finished.err
    assert "Finishing the NovaTech demo begun earlier" in finished.out
    assert "Helios order not confirmed" in finished.out
    check_all_reports(store, datetime.now(UTC).date())
    head = store.head()
    one_line_reason(store.run("demo"), "already holds the NovaTech demo")
    assert store.head() == head


# Commands that only read never create a store -----------------------------------------------

def test_reading_commands_never_create_a_sqlite_store(tmp_path: Path) -> None:
    path = tmp_path / "o2c.sqlite3"
    for args in READERS:
        one_line_reason(Cli(f"sqlite:///{path}").run(*args), "no o2c store", str(path),
                        "does not exist")
        assert list(tmp_path.iterdir()) == []
    (tmp_path / "o2c.sqlite3").touch()  # an empty file is no store either, and stays empty
    one_line_reason(Cli(f"sqlite:///{path}").run("report", "pipeline"), "no o2c store",
                    "is empty")
    assert path.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o2c.sqlite3"]


@pytest.mark.postgres
def test_reading_commands_never_create_a_postgres_store(pg_schema_url: str) -> None:
    schema = pg_schema_url.split("schema=")[1]
    for url in (pg_schema_url, pg_schema_url + "_missing"):
        for args in READERS:
            one_line_reason(Cli(url).run(*args), "no o2c store", "PostgreSQL schema", schema)
    assert _schema_tables(pg_schema_url) == []
    with psycopg.connect(PG_URL.split("?")[0]) as conn:
        assert conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s",
                            (schema + "_missing",)).fetchone() == (0,)


# A read-only copy can be reported on ---------------------------------------------------------

@pytest.fixture
def read_only_store(tmp_path: Path) -> Iterator[tuple[Cli, Path, dict[str, object]]]:
    """A store whose read models are one event behind its log, made read-only (the
    file 0444, its folder 0555), with its reports as of the projected position."""
    folder = tmp_path / "copy"
    folder.mkdir()
    store = Cli(f"sqlite:///{folder / 'o2c.sqlite3'}")
    _post(store, "Capital", "1000.00")
    seen = store.report("trial-balance")
    _post(store, "Late capital", "5.00")  # recorded, not yet projected
    (folder / "o2c.sqlite3").chmod(0o444)
    folder.chmod(0o555)
    try:
        yield store, folder, seen
    finally:
        folder.chmod(0o755)


def _snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_a_read_only_store_is_read_as_it_is_and_never_written(
        read_only_store: tuple[Cli, Path, dict[str, object]], tmp_path: Path) -> None:
    store, folder, seen = read_only_store
    before = _snapshot(folder)
    report = store.run("report", "trial-balance", "--format", "json")
    assert report.code == 0, report.err
    assert json.loads(report.out) == seen  # the read models as they are
    assert report.err.count("\n") == 1
    assert "read-only" in report.err
    assert "1 event behind the log" in report.err
    verified = store.run("audit", "verify")
    assert verified.code == 0, verified.err
    # the opening events (the book currency, the chart, the periods) and two posted
    assert verified.out.startswith(f"OK {len(DEFAULT_CHART) + 4} events")
    history = store.run("audit", "history", "1000", "--format", "json")
    assert [s["event"] for s in history.json()] == ["LedgerAccount.Opened"]
    status = store.run("projections", "status")
    assert status.code == 0, status.err
    opened = len(DEFAULT_CHART) + 2
    assert f" {opened + 1} " in status.out  # read models one event behind the log
    assert f" {opened + 2} " in status.out
    journal = tmp_path / "journal.beancount"
    exported = store.run("export", "beancount", "-o", str(journal))
    assert exported.code == 0, exported.err
    assert "Capital" in journal.read_text()
    assert "Late capital" not in journal.read_text()
    for writer in (["demo"], ["journal", "post", "--memo", "x", "--line", "1000:debit:1",
                              "--line", "3000:credit:1"],
                   ["projections", "rebuild"], ["demo", "--reset", "--yes"]):
        one_line_reason(store.run(*writer), "read-only")
    assert _snapshot(folder) == before  # not a byte written, no -wal, -shm or lock file


def test_a_read_only_store_never_projected_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    store = Cli(f"sqlite:///{folder / 'o2c.sqlite3'}")
    _post(store)  # the log only: nothing ever built the read models
    (folder / "o2c.sqlite3").chmod(0o444)
    try:
        one_line_reason(store.run("report", "pipeline"), "read models", "never built")
        assert store.run("audit", "verify").code == 0  # the log needs no read model
    finally:
        (folder / "o2c.sqlite3").chmod(0o644)


# Settings are checked at start ---------------------------------------------------------------

@pytest.mark.parametrize(("variable", "value", "words"), [
    ("O2C_TAX_RATE", "8", "0 <= rate < 1"),
    ("O2C_TAX_RATE", "1", "0 <= rate < 1"),
    ("O2C_TAX_RATE", "-0.01", "0 <= rate < 1"),
    ("O2C_TAX_RATE", "-0", "0 <= rate < 1"),
    ("O2C_TAX_RATE", "0.1234567", "at most 6 decimal places"),
    ("O2C_TAX_RATE", "eight", "0 <= rate < 1"),
    ("O2C_TAX_RATE", "NaN", "0 <= rate < 1"),
    ("O2C_BOOTSTRAP_TOKEN", "x", "at least 16 characters"),
    ("O2C_BOOTSTRAP_TOKEN", "sixteen chars ok", "without spaces"),
    ("O2C_DATABASE_URL", "mysql://db/o2c", "sqlite:///"),
    ("O2C_DATABASE_URL", "sqlite:///", "sqlite:///PATH"),
    ("O2C_DATABASE_URL", "postgresql://db:port/o2c", "port"),
    ("O2C_CURRENCY", "US", "ISO 4217"),
    ("O2C_CURRENCY", "U$D", "ISO 4217"),
    ("O2C_POOL_SIZE", "0", "greater than or equal to 1"),
])
def test_a_bad_setting_stops_every_command_at_start(tmp_path: Path, variable: str,
                                                    value: str, words: str) -> None:
    env = {"O2C_DATABASE_URL": f"sqlite:///{tmp_path / 'o2c.sqlite3'}", variable: value}
    store = Cli(env["O2C_DATABASE_URL"], **env)
    # serve on a bad port: should the setting pass, it fails there instead of serving
    for args in (["serve", "--port", "70000"], ["demo"], ["report", "pipeline"],
                 ["tokens", "create", "--role", "sales"], ["projections", "status"]):
        run = store.run(*args)
        one_line_reason(run, variable, words)
        assert value not in run.err or variable != "O2C_BOOTSTRAP_TOKEN"  # never echoed
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("value", "rate"), [("0", "0"), ("0.08875", "0.08875"),
                                             (" 0.2 ", "0.2")])
def test_a_good_tax_rate_is_a_fraction(value: str, rate: str, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    monkeypatch.setenv("O2C_TAX_RATE", value)
    assert str(Settings().tax_rate) == rate


def test_an_empty_bootstrap_token_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2C_BOOTSTRAP_TOKEN", "")
    assert Settings().bootstrap_token is None


# File errors are one line with exit 2 --------------------------------------------------------

def test_export_file_errors_are_one_line_and_leave_files_alone(tmp_path: Path) -> None:
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}")
    _post(store)
    locked = tmp_path / "locked.beancount"
    locked.write_text("kept\n")
    locked.chmod(0o444)
    shut = tmp_path / "shut"
    shut.mkdir(mode=0o555)
    a_file = tmp_path / "plain.txt"
    a_file.write_text("")
    for target, words in ((tmp_path / "missing" / "dir" / "x", "No such file or directory"),
                          (tmp_path, "is a directory"),
                          (locked, "read-only"),
                          (shut / "x", "folder is read-only"),
                          (a_file / "x", "Not a directory")):
        one_line_reason(store.run("export", "beancount", "-o", str(target)),
                        f"cannot write {target}", words)
    assert locked.read_text() == "kept\n"
    assert list(shut.iterdir()) == []
    shut.chmod(0o755)
    good = tmp_path / "good.beancount"
    good.write_text("an older export\n")
    done = store.run("export", "beancount", "-o", str(good))
    assert done.code == 0, done.err
    assert "Owner's top-up" in good.read_text()
    assert stat.S_IMODE(good.stat().st_mode) == 0o666 & ~_umask()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.postgres
def test_reset_and_readers_on_postgres_check_only_the_schema(pg_schema_url: str) -> None:
    """A store in one schema is refused by --reset; another schema of the same database
    is still "no store" to the readers."""
    store = Cli(pg_schema_url)
    _post(store)
    one_line_reason(store.run("demo", "--reset"), "1 event the demo did not record")
    assert "o2c_events" in _schema_tables(pg_schema_url)
    one_line_reason(Cli(pg_schema_url + "_other").run("report", "pipeline"), "no o2c store")


