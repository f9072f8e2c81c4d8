"""README.md's table of exit statuses is what ``o2c`` does: one example of each status,
run as the installed script, and no status in the table without an example here."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from novatech import O2C_COMMAND, Cli, check_all_reports

README = Path(__file__).parents[2] / "README.md"


def readme_statuses() -> dict[int, str]:
    """The statuses README.md's exit-status table lists, with their meaning."""
    text = README.read_text()
    table = text.split("Exit status (", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    return {int(row.split("|")[1]): row.split("|")[2].strip() for row in rows}


def _popen(store: Cli, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("O2C_")}
    return subprocess.Popen([*O2C_COMMAND, *args], env={**env, **store.env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def success(tmp_path: Path) -> None:
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}")
    assert store.run("journal", "post", "--memo", "m", "--line", "1000:debit:1",
                     "--line", "3000:credit:1").code == 0
    done = store.script("report", "pipeline")
    assert (done.code, done.err) == (0, ""), done.err
    assert "Pipeline" in done.out


def check_failed(tmp_path: Path) -> None:
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}")
    assert store.run("journal", "post", "--memo", "m", "--line", "1000:debit:1",
                     "--line", "3000:credit:1").code == 0
    position, digest = store.head()
    wrong = "0" * 64 if digest != "0" * 64 else "1" * 64
    done = store.script("audit", "verify", "--expect", f"{position}:{wrong}")
    assert done.code == 1, done.err
    assert done.out.startswith(f"BROKEN at position {position}")


def cannot_do_it(tmp_path: Path) -> None:
    done = Cli(f"sqlite:///{tmp_path / 'nowhere.sqlite3'}").script("report", "pipeline")
    assert done.code == 2
    assert done.err.count("\n") == 1
    assert "no o2c store" in done.err
    assert not (tmp_path / "nowhere.sqlite3").exists()


def interrupted(tmp_path: Path) -> None:
    """Ctrl-C during ``o2c demo``: 130, and the next ``o2c demo`` finishes the story."""
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}")
    process = _popen(store, "demo")
    assert process.stdout is not None
    assert "Owner invests" in process.stdout.readline()
    # The second line comes once the first commands are recorded: the story is begun.
    assert "Leads arrive" in process.stdout.readline()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "o2c: interrupted"
    assert "Traceback" not in err
    finished = store.run("demo")
    assert finished.code == 0, finished.err
    assert "Finishing the NovaTech demo begun earlier" in finished.out
    check_all_reports(store, datetime.now(UTC).date())


def output_closed(tmp_path: Path) -> None:
    """``o2c demo | head -1``: 141, the story recorded whole, the next demo refused."""
    store = Cli(f"sqlite:///{tmp_path / 'o2c.sqlite3'}")
    process = _popen(store, "demo")
    assert process.stdout is not None
    assert process.stderr is not None
    assert "Owner invests" in process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == 141, err
    assert "Traceback" not in err
    check_all_reports(store, datetime.now(UTC).date())
    again = store.run("demo")
    assert again.code == 2
    assert "already holds the NovaTech demo" in again.err


EXAMPLES: dict[int, Callable[[Path], None]] = {
    0: success, 1: check_failed, 2: cannot_do_it, 130: interrupted, 141: output_closed}


def test_every_status_in_the_readme_has_an_example_and_no_other() -> None:
    assert sorted(readme_statuses()) == sorted(EXAMPLES)


@pytest.mark.parametrize("status", sorted(EXAMPLES))
def test_the_readme_status_is_what_the_cli_does(status: int, tmp_path: Path) -> None:
    assert readme_statuses()[status]  # it says what the status means
    EXAMPLES[status](tmp_path)


def test_main_docstring_lists_the_same_statuses() -> None:
    import o2c.cli

    listed = {int(n) for n in re.findall(r"^- (\d+) ", o2c.cli.__doc__ or "", re.MULTILINE)}
    assert listed == set(readme_statuses())
