"""A log written before the current code (tests/fixtures/log_eee711b) is read,
verified and rebuilt into exactly the reports it gave when it was written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from o2c.cli import cli

FIXTURE = Path(__file__).parent / "fixtures" / "log_eee711b"
HEAD = "126:60668f18328f981e6dec64ef0f6e551267ef1da886c86795da3e4bccde15153c"
REPORTS = {
    "pipeline.json": ["pipeline"],
    "inventory.json": ["inventory"],
    "trial-balance.json": ["trial-balance"],
    "ar-aging.json": ["ar-aging", "--as-of", "2026-12-02"],
    "tb-asof.json": ["trial-balance", "--as-of", "2026-10-15"],
}
runner = CliRunner()


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "log.sqlite3"
    shutil.copyfile(FIXTURE / "log.sqlite3", path)
    monkeypatch.setenv("O2C_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.chdir(tmp_path)
    return path


def run(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return str(result.stdout)


def reports() -> dict[str, object]:
    return {name: json.loads(run("report", *args, "--format", "json"))
            for name, args in REPORTS.items()}


def expected() -> dict[str, object]:
    return {name: json.loads((FIXTURE / name).read_text()) for name in REPORTS}


def test_the_old_log_verifies_to_the_head_it_had(stored: Path) -> None:
    assert "OK 126 events" in run("audit", "verify", "--expect", HEAD)


def test_the_old_read_models_are_read_as_they_were(stored: Path) -> None:
    assert reports() == expected()


def test_a_rebuild_of_the_old_log_gives_the_same_reports_and_export(stored: Path) -> None:
    run("projections", "rebuild")
    assert reports() == expected()
    run("export", "beancount", "--output", "ledger.beancount")
    assert (stored.parent / "ledger.beancount").read_text() == (
        FIXTURE / "ledger.beancount").read_text()
