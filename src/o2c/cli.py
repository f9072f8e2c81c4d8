"""The ``o2c`` command line: demo, reports, projections, serving, tokens, audit, export.

Exit status: 0 success, 1 a check failed, 2 bad usage or input (one-line reason).
"""

from __future__ import annotations

import csv
import io
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from o2c.application import O2C
from o2c.bootstrap import build_app
from o2c.config import Settings
from o2c.domain.errors import O2CError

if TYPE_CHECKING:
    from o2c.projections import Projector

cli = typer.Typer(help="o2c: order to cash on one immutable log.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
projections_cli = typer.Typer(help="Read models: follow, rebuild, status.",
                              no_args_is_help=True)
audit_cli = typer.Typer(help="Audit the log.", no_args_is_help=True)
export_cli = typer.Typer(help="Export the books.", no_args_is_help=True)
tokens_cli = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
cli.add_typer(projections_cli, name="projections")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(export_cli, name="export")
cli.add_typer(tokens_cli, name="tokens")

out = Console(soft_wrap=True)
if not out.is_terminal:
    out.width = 160  # piped or captured: do not squeeze tables into 80 columns
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Prints a one-line reason to stderr and returns the exit to raise."""
    sys.stderr.write(f"o2c: {message}\n")
    return typer.Exit(code)


@contextmanager
def refused() -> Iterator[None]:
    """Turns a refused command into exit 2 with its one-line reason."""
    try:
        yield
    except O2CError as error:
        raise fail(f"{error.code}: {error.message}") from None


def settings() -> Settings:
    """The settings from the environment, or exit 2 naming the bad one."""
    try:
        return Settings()
    except ValidationError as error:
        problem = error.errors()[0]
        name = "O2C_" + str(problem["loc"][0]).upper() if problem.get("loc") else "O2C_*"
        raise fail(f"{name}: {problem['msg']}") from None


def open_app() -> O2C:
    """The application on the configured store, or exit 2 with the reason."""
    configured = settings()
    try:
        return build_app(configured)
    except (ValueError, OSError) as error:
        raise fail(f"cannot open the store: {str(error).splitlines()[0]}") from None
    except Exception as error:
        raise fail(f"cannot open the store: {type(error).__name__}: "
                   f"{str(error).splitlines()[0] if str(error) else ''}") from None


# Rendering ---------------------------------------------------------------------------

class Format(StrEnum):
    """How a report is printed."""

    table = "table"
    json = "json"
    csv = "csv"


class ReportName(StrEnum):
    """The reports."""

    pipeline = "pipeline"
    inventory = "inventory"
    trial_balance = "trial-balance"
    ar_aging = "ar-aging"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def report_rows(name: ReportName, report: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The report's main rows, and a one-line footer."""
    if name is ReportName.pipeline:
        rows = [*report["stages"], {"stage": "won", **report["won"], "weighted_amount": ""},
                {"stage": "lost", **report["lost"], "weighted_amount": ""}]
        leads = report["leads"]
        footer = (f"win rate {report['win_rate'] * 100:.1f}% · leads {leads['total']}: "
                  f"{leads['converted']} converted, {leads['disqualified']} disqualified, "
                  f"{leads['open']} open · lead conversion "
                  f"{report['lead_conversion_rate'] * 100:.1f}%")
        return rows, footer
    if name is ReportName.inventory:
        return report["items"], f"total value {report['total_value']}"
    if name is ReportName.trial_balance:
        rows = [{k: v for k, v in r.items() if k != "normal_balance"} for r in report["accounts"]]
        t = report["totals"]
        when = " ".join(f"{k} {report[k]}" for k in ("as_of", "known_at") if report[k])
        return rows, (f"totals: debit {t['debit']} credit {t['credit']} balance {t['balance']}"
                      + (f" ({when})" if when else ""))
    rows = report["invoices"]
    buckets = ", ".join(f"{b['bucket']} {b['amount']}" for b in report["buckets"])
    return rows, f"as of {report['as_of']}: {buckets} · total open {report['total_open']}"


def print_report(name: ReportName, report: dict[str, Any], fmt: Format) -> None:
    """Prints a report as a table, JSON or CSV."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(_plain(report), indent=2) + "\n")
        return
    rows, footer = report_rows(name, report)
    if fmt is Format.csv:
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(_plain(rows))
        sys.stdout.write(buffer.getvalue())
        return
    table = Table(title=name.value.replace("-", " ").title(), caption=footer)
    columns = list(rows[0]) if rows else ["(no rows)"]
    for column in columns:
        numeric = bool(rows) and isinstance(rows[0].get(column), (Decimal, int))
        table.add_column(column.replace("_", " "), justify="right" if numeric else "left")
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    out.print(table)


def compute_report(projector: Projector, name: ReportName, as_of: date | None = None,
                   known_at: datetime | None = None) -> dict[str, Any]:
    """Brings the read models up to date and computes one report."""
    from o2c.projections import reports

    projector.catch_up()
    db, places = projector.db, projector.settings.places
    if name is ReportName.pipeline:
        return reports.pipeline(db, places)
    if name is ReportName.inventory:
        return reports.inventory(db, places)
    if name is ReportName.trial_balance:
        return reports.trial_balance(db, places, as_of=as_of, known_at=known_at)
    return reports.ar_aging(db, places, as_of=as_of)


def open_projector(app: O2C, names: list[str] | None = None) -> Projector:
    """A projector of the application's database (creating read-model tables if missing)."""
    from o2c.projections import Projector

    return Projector(app.db, app.settings, names)


# Commands ----------------------------------------------------------------------------

@cli.command()
def demo(reset: Annotated[bool, typer.Option(
        "--reset", help="Erase everything in the configured store first.")] = False) -> None:
    """Seeds the NovaTech story and prints the pipeline, inventory and trial balance."""
    from o2c import demo as story

    if reset:
        configured = settings()
        try:
            erase_store(configured)
        except Exception as error:  # any failure becomes a one-line reason
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise fail(f"cannot erase the store: {first}") from None
    app = open_app()
    try:
        story.run(app, say=lambda line: out.print(f"[dim]·[/dim] {line}"))
    except story.DemoAlreadyRecorded as refused:
        raise fail(str(refused)) from None
    projector = open_projector(app)
    for name in (ReportName.pipeline, ReportName.inventory, ReportName.trial_balance):
        print_report(name, compute_report(projector, name), Format.table)


def erase_store(settings: Settings) -> None:
    """Deletes every o2c table (or the SQLite file) of the configured store."""
    from o2c.persistence.connection import env_for_url

    env = env_for_url(settings.database_url)  # refuses a malformed URL before deleting
    if "SQLITE_DBNAME" in env:
        for suffix in ("", "-wal", "-shm"):
            Path(env["SQLITE_DBNAME"] + suffix).unlink(missing_ok=True)
        return
    from o2c.bootstrap import open_database
    from o2c.persistence import log
    from o2c.projections.rebuild import drop

    db = open_database(settings)
    try:
        drop(db)  # the read models and their positions
        log.erase(db)  # the log, its audit rows, commands and tokens
    finally:
        db.datastore.close()


@cli.command()
def report(
    name: Annotated[ReportName, typer.Argument(help="Which report.")],
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Effective date (YYYY-MM-DD): postings on or before it.")] = None,
    known_at: Annotated[str | None, typer.Option(
        "--known-at", help="Recording time (ISO 8601): only what was recorded by then.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.table,
) -> None:
    """Prints a report, optionally as of a date and as known at a time."""
    try:
        as_of_date = date.fromisoformat(as_of) if as_of else None
        known = datetime.fromisoformat(known_at) if known_at else None
    except ValueError as error:
        raise fail(f"bad date: {error}") from None
    if known is not None and name is not ReportName.trial_balance:
        raise fail("--known-at applies to the trial balance")
    if as_of_date is not None and name in (ReportName.pipeline, ReportName.inventory):
        raise fail("--as-of applies to the trial balance and the AR aging")
    app = open_app()
    print_report(name, compute_report(open_projector(app), name, as_of_date, known), fmt)


@cli.command()
def serve(host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
          workers: Annotated[int, typer.Option(help="Server processes.")] = 1) -> None:
    """Runs the HTTP API (OpenAPI at /docs, spec at /openapi.json)."""
    import uvicorn

    uvicorn.run("o2c.api:create_app", factory=True, host=host, port=port, workers=workers)


@projections_cli.command("run")
def projections_run(interval: Annotated[float, typer.Option(
        help="Seconds to wait when the log has nothing new.")] = 0.05) -> None:
    """Follows the log and keeps every read model current (a worker process)."""
    projector = open_projector(open_app())
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    err.print(f"o2c: following the log from position {projector.position()}")
    projector.run_forever(stop, interval)


@projections_cli.command("rebuild")
def projections_rebuild(names: Annotated[list[str] | None, typer.Argument(
        help="Read models to rebuild (all when none given).")] = None) -> None:
    """Rebuilds read models from position zero, in batches, with a progress bar."""
    from o2c.bootstrap import open_database
    from o2c.projections.rebuild import rebuild

    app = open_app()
    projector = open_projector(app)
    unknown = set(names or ()) - set(projector.names())
    if unknown:
        raise fail(f"unknown read model(s) {', '.join(sorted(unknown))}; "
                   f"known: {', '.join(projector.names())}")
    head = projector.head()
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err) as bar:
        task = bar.add_task("rebuilding " + ", ".join(names or projector.names()), total=head)
        rebuild(projector, names or None, open_db=open_database,
                progress=lambda position, _: bar.update(task, completed=position))
    out.print(f"rebuilt {', '.join(names or projector.names())} to position {head}")


@projections_cli.command("status")
def projections_status() -> None:
    """Shows each read model's position against the log's head."""
    table = Table("read model", "position", "head", "lag")
    for row in open_projector(open_app()).status():
        table.add_row(str(row["name"]), str(row["position"]), str(row["head"]), str(row["lag"]))
    out.print(table)


@tokens_cli.command("create")
def tokens_create(role: Annotated[str, typer.Option(help="sales, warehouse, finance, "
                                                         "auditor or admin.")],
                  name: Annotated[str | None, typer.Option(help="Who holds it.")] = None) -> None:
    """Prints a new bearer token, alone on stdout."""
    from o2c import auth

    try:
        token = auth.create_token(open_app().db, role, name)
    except (ValueError, O2CError) as error:
        raise fail(str(error)) from None
    sys.stdout.write(token + "\n")


@audit_cli.command("verify")
def audit_verify(expect: Annotated[str | None, typer.Option(
        "--expect", help="POSITION:HASH saved earlier: prove that log is a prefix of "
                         "today's.")] = None) -> None:
    """Checks the hash chain of the whole log; exit 1 naming the first bad event."""
    from o2c import audit

    expected: tuple[int, str] | None = None
    if expect:
        position, _, digest = expect.partition(":")
        if not position.isdigit() or len(digest) != 64:
            raise fail("--expect takes POSITION:HASH (a 64-hex-digit SHA-256)")
        expected = (int(position), digest.lower())
    app = open_app()
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=err) as bar:
        task = bar.add_task("verifying the chain", total=app.db.head())
        verdict = audit.verify(app.db, progress=lambda p: bar.update(task, completed=p),
                               expect=expected)
    if not verdict.ok:
        sys.stdout.write(f"BROKEN at position {verdict.first_bad_position}: {verdict.reason}\n"
                         f"{verdict.count} events verified before it\n")
        raise typer.Exit(1)
    sys.stdout.write(f"OK {verdict.count} events, head position {verdict.head_position}, "
                     f"head hash {verdict.head_hash}\n")


@audit_cli.command("history")
def audit_history(aggregate_id: Annotated[str, typer.Argument(
        help="The aggregate's id (a SKU or account code works too).")],
                  fmt: Annotated[Format, typer.Option("--format")] = Format.table) -> None:
    """Every event of one aggregate, in order, with position, time, actor and key."""
    from o2c import audit

    steps = audit.history_of(open_app(), aggregate_id)
    if not steps:
        raise fail(f"no events for {aggregate_id!r}")
    if fmt is Format.json:
        sys.stdout.write(json.dumps(_plain(steps), indent=2, default=str) + "\n")
        return
    table = Table("position", "version", "event", "recorded at", "actor", "key", "data",
                  title=f"History of {aggregate_id}", caption="--format json for every field")
    for step in steps:
        table.add_row(str(step["position"]), str(step["version"]), step["event"],
                      step["recorded_at"], step["actor"], step["idempotency_key"] or "",
                      json.dumps(_plain(step["data"]), default=str)[:60])
    out.print(table)


@export_cli.command("beancount")
def export_beancount(output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write (standard output when omitted).")] = None) -> None:
    """Writes the ledger as a beancount journal (one transaction per journal entry)."""
    from o2c.export import beancount

    app = open_app()
    open_projector(app, ["trial_balance"]).catch_up()  # the journal is the projected postings
    if output is None:
        for line in beancount(app.db, app.settings.currency):
            sys.stdout.write(line + "\n")
        return
    with output.open("w", encoding="utf-8") as handle:
        for line in beancount(app.db, app.settings.currency):
            handle.write(line + "\n")
    err.print(f"wrote {output}")


periods_cli = typer.Typer(help="Accounting periods.", no_args_is_help=True)
cli.add_typer(periods_cli, name="periods")


@periods_cli.command("close")
def periods_close(through: Annotated[str, typer.Option(help="Close every period through "
                                                              "this date (YYYY-MM-DD).")],
                  note: Annotated[str, typer.Option(help="Why, or by whom.")] = "") -> None:
    """Closes the books through a date: postings dated in it are then refused."""
    from o2c.application import Context

    with refused():
        result = open_app().close_period(Context(actor="cli"), through, note)
    out.print(f"books closed through {result.extra['closed_through']}")


journal_cli = typer.Typer(help="Journal entries.", no_args_is_help=True)
cli.add_typer(journal_cli, name="journal")


@journal_cli.command("post")
def journal_post(memo: Annotated[str, typer.Option(help="What the entry is for.")],
                 line: Annotated[list[str], typer.Option(
                     help="ACCOUNT:debit:AMOUNT or ACCOUNT:credit:AMOUNT (repeat).")],
                 date: Annotated[str | None, typer.Option(
                     help="Effective date (YYYY-MM-DD); today when omitted.")] = None) -> None:
    """Posts a manual journal entry (it must balance)."""
    from o2c.application import Context

    lines = []
    for spec in line:
        account, side, amount = [*spec.split(":"), "", ""][:3]
        if side not in ("debit", "credit"):
            raise fail(f"bad --line {spec!r}: use ACCOUNT:debit:AMOUNT or ACCOUNT:credit:AMOUNT")
        lines.append({"account": account, side: amount})
    with refused():
        result = open_app().post_journal_entry(Context(actor="cli"), memo, lines, date)
    out.print(f"posted entry {result.id} at position {result.position}")


@journal_cli.command("reverse")
def journal_reverse(entry_id: Annotated[str, typer.Argument(help="The entry to undo.")],
                    date: Annotated[str | None, typer.Option(
                        help="Effective date of the reversal; today when omitted.")] = None
                    ) -> None:
    """Reverses a journal entry in an open period."""
    from o2c.application import Context

    with refused():
        result = open_app().reverse_journal_entry(Context(actor="cli"), entry_id, date=date)
    out.print(f"posted reversal {result.id} at position {result.position}")


@cli.command()
def bench(quick: Annotated[bool, typer.Option(
              "--quick", help="Smaller workloads: under a minute per database.")] = False,
          as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
          database_url: Annotated[str | None, typer.Option(
              "--database-url", help="sqlite:///PATH or postgresql://... (default: "
                                     "O2C_DATABASE_URL, else a temporary SQLite file). The "
                                     "run uses a fresh temporary file beside PATH, or a "
                                     "fresh schema dropped afterwards: never your data.")
          ] = None,
          scale: Annotated[str | None, typer.Option(
              help="tiny (seconds, for tests), quick, or full (a million events; the "
                   "default without --quick).")] = None) -> None:
    """Measures each performance figure beside its limit (the same rows written or read
    by the plain driver, in the same run) and prints the ratios."""
    import os
    import time

    from o2c import bench as harness

    name = scale or ("quick" if quick else "full")
    if name not in ("tiny", "quick", "full"):
        raise fail("--scale must be tiny, quick or full")
    url = database_url or os.environ.get("O2C_DATABASE_URL") or None
    began = time.perf_counter()

    def say(line: str) -> None:
        err.print(f"[{time.perf_counter() - began:7.1f} s] {line}")

    figures = harness.run(url, name, say=say)
    if as_json:
        sys.stdout.write(harness.as_json(figures, url, name) + "\n")
        return
    table = Table("figure", "value", "unit", "limit", "ratio", "target", "met", "note",
                  title=f"o2c bench --scale {name} ({time.perf_counter() - began:.0f} s)")
    for f in figures:
        table.add_row(f.name, str(f.value), f.unit, "" if f.limit is None else str(f.limit),
                      "" if f.ratio is None else str(f.ratio), f.target,
                      {True: "yes", False: "NO", None: ""}[f.met], f.note)
    out.print(table)


def main() -> None:
    """Entry point of the ``o2c`` console script: usage errors in one line, exit 2."""
    from typer._click.exceptions import NoArgsIsHelpError

    try:
        code = cli(standalone_mode=False)
    except NoArgsIsHelpError as error:
        error.show()
        sys.exit(2)
    except typer.Abort:
        sys.exit(1)
    except O2CError as error:
        sys.stderr.write(f"o2c: {error.code}: {error.message}\n")
        sys.exit(2)
    except typer.TyperException as error:  # click's usage errors
        sys.stderr.write(f"o2c: {' '.join(error.format_message().split())}\n")
        sys.exit(error.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
