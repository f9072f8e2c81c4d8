"""Commands for running o2c: the demo, the server, read-model workers, the bench
(tokens are ``o2c.cli.tokens``)."""

from __future__ import annotations

import ipaddress
import json
import signal
import socket
import sys
import threading
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from o2c.cli.books import compute_report
from o2c.cli.common import (
    EXIT_STDOUT_CLOSED,
    Output,
    err,
    fail,
    open_app,
    open_projector,
    out,
    read_models,
    say,
    settings,
)
from o2c.cli.render import Format, ReportName, print_report

if TYPE_CHECKING:
    from o2c.application import O2C
    from o2c.config import Settings

projections_cli = typer.Typer(help="Read models: follow, rebuild, status.",
                              no_args_is_help=True)


def demo_begun(app: O2C) -> tuple[date | None, bool]:
    """The last day of a NovaTech story begun in this store (None if none was), and
    whether it is complete: found by the keys of its first and last steps."""
    from o2c import demo as story
    from o2c.domain.journal_entry import JournalEntry
    from o2c.persistence import log

    first = log.find_command(app.db, story.KEY_PREFIX + story.FIRST)
    if first is None:
        return None, False
    entry = app.get(JournalEntry, json.loads(first[1])["id"], "journal entry")
    complete = log.find_command(app.db, story.KEY_PREFIX + story.LAST) is not None
    return entry.date + timedelta(days=story.DAYS), complete


def foreign_events(app: O2C) -> tuple[int, list[str]]:
    """How many events of the store the demo did not record, and who recorded them:
    what ``o2c demo --reset`` would lose beyond the demo (another actor, an event of
    the demo's actors without a demo key, or more than the store's own opening)."""
    from o2c import demo as story
    from o2c.persistence import log

    foreign, actors, opening = 0, [], 0
    for actor, keyed, count in log.events_by_actor(app.db, story.KEY_PREFIX):
        if actor in story.ACTORS and keyed:
            continue
        if actor == "system" and not keyed:
            opening += count
            continue
        foreign += count
        actors.append(actor)
    extra = max(opening - story.OPENING_EVENTS, 0)
    return foreign + extra, sorted(actors) + (["system"] if extra else [])


def _not_only_the_demo(configured: Settings) -> str | None:
    """What ``--reset`` would erase beyond the demo, said in a few words (None when the
    store holds the demo alone, in part or whole, or does not exist)."""
    from o2c.bootstrap import StoreMissing, open_existing, where

    try:
        app, _ = open_existing(configured, write=False)
    except StoreMissing as missing:
        return f"the {where(configured)} is not an o2c store" if missing.other_file else None
    except Exception as error:  # any failure to look becomes a one-line reason
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise fail(f"cannot open the store: {first}") from None
    try:
        count, actors = foreign_events(app)
    finally:
        app.close()
    if not count:
        return None
    shown = ", ".join(actors[:3]) + (f" and {len(actors) - 3} more" if len(actors) > 3 else "")
    return (f"the store holds {count} event{'s' if count != 1 else ''} the demo did not "
            f"record (by {shown})")


def _confirm_reset(configured: Settings, yes: bool) -> None:
    """Lets ``--reset`` erase a store holding anything but the demo only when confirmed:
    asked at a terminal, ``--yes`` otherwise; refused is exit 2."""
    foreign = _not_only_the_demo(configured)
    if foreign is None or yes:
        return
    if not sys.stdin.isatty():
        raise fail(f"{foreign}; nothing erased (add --yes to erase it anyway)")
    try:
        if typer.confirm(f"o2c: {foreign}. Erase everything in it?", default=False,
                         err=True):
            return
    except typer.Abort:
        pass
    raise fail("nothing erased")


def demo(reset: Annotated[bool, typer.Option(
             "--reset", help="Erase the configured store first (asks, or needs --yes, if it "
                             "holds anything but the demo).")] = False,
         yes: Annotated[bool, typer.Option(
             "--yes", "-y", help="With --reset: erase even what is not the demo, without "
                                 "asking.")] = False) -> None:
    """Seeds the NovaTech story (or finishes one cut short) and prints the pipeline,
    inventory and trial balance, then the story's P&L by month and its balance sheet."""
    from o2c import demo as story
    from o2c.bootstrap import StoreReadOnly, erase_store

    if yes and not reset:
        raise fail("--yes goes with --reset")
    if reset:
        configured = settings()
        _confirm_reset(configured, yes)
        try:
            erase_store(configured)
        except StoreReadOnly as error:
            raise fail(str(error)) from None
        except Exception as error:  # any failure becomes a one-line reason
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise fail(f"cannot erase the store: {first}") from None
    app = open_app()
    try:
        last_day, complete = demo_begun(app)
        try:
            if complete:
                raise story.DemoAlreadyRecorded("this database already holds the NovaTech "
                                                "demo (run `o2c demo --reset` to start again)")
            told = story.run(app, say=lambda line: say(f"[dim]·[/dim] {line}"),
                             finishing=last_day)
        except story.DemoAlreadyRecorded as refused:
            raise fail(str(refused)) from None
        if Output.closed:  # the story is recorded whole; nobody reads the reports
            raise typer.Exit(EXIT_STDOUT_CLOSED)
        projector = read_models(app, writable=True)
        for name in (ReportName.pipeline, ReportName.inventory, ReportName.trial_balance):
            print_report(name, compute_report(projector, name), Format.table)
        begun, ended = (date.fromisoformat(told[k]) for k in ("first_day", "last_day"))
        print_report(ReportName.pnl, compute_report(projector, ReportName.pnl, start=begun,
                                                    end=ended, monthly=True), Format.table)
        print_report(ReportName.balance_sheet, compute_report(
            projector, ReportName.balance_sheet, as_of=ended), Format.table)
    finally:
        app.close()


def _is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address."""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host or None, None,
                                                            type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError):
        raise fail(f"--host {host!r}: no such host") from None
    if not host:
        return False  # every interface
    return all(ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in found)


def _listen(host: str, port: int) -> socket.socket:
    """The server's listening socket, bound here so that a taken port or a bad address
    is one line and exit 2 (uvicorn would log a traceback-free error and exit 3)."""
    if not 0 <= port <= 65535:
        raise fail(f"--port must be 0 to 65535, not {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        where = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        raise fail(f"cannot listen on {where}: {(error.strerror or str(error)).lower()}"
                   ) from None
    sock.set_inheritable(True)
    return sock


def serve(host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
          workers: Annotated[int, typer.Option(help="Server processes.")] = 1) -> None:
    """Runs the HTTP API (OpenAPI at /docs, spec at /openapi.json).

    Checked before it listens, each a line and exit 2: the settings, the store (it
    must open; it is created if missing), a token to let anyone in when the address
    is not loopback, and the port."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from o2c import auth

    if workers < 1:
        raise fail(f"--workers must be at least 1, not {workers}")
    configured = settings()
    app = open_app()
    try:
        exposed = not _is_loopback(host)
        if exposed and not configured.bootstrap_token and not auth.has_tokens(app.db):
            raise fail(f"refusing to listen on {host}, which is not a loopback address, "
                       "while no API token exists: set O2C_BOOTSTRAP_TOKEN or run "
                       "`o2c tokens create --role admin` first")
    finally:
        app.close()
    sock = _listen(host, port)
    config = uvicorn.Config("o2c.api:create_app", factory=True, host=host, port=port,
                            workers=workers)
    server = uvicorn.Server(config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    if workers == 1 and not server.started:
        raise fail("the API did not start (its error is above)")


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
    from o2c.cli.common import open_reader

    app, writable = open_reader()
    try:
        status = read_models(app, writable, catch_up=False).status()
    finally:
        app.close()
    table = Table("read model", "position", "head", "lag", "stuck")
    for row in status:
        table.add_row(str(row["name"]), str(row["position"]), str(row["head"]), str(row["lag"]),
                      str(row.get("stuck", "")))
    out.print(table)


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
