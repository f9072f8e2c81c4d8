"""Commands for running o2c: the demo, the server, read-model workers, tokens, the bench."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from o2c.cli.books import compute_report
from o2c.cli.common import err, fail, open_app, open_projector, out, settings
from o2c.cli.render import Format, ReportName, print_report
from o2c.domain.errors import O2CError

projections_cli = typer.Typer(help="Read models: follow, rebuild, status.",
                              no_args_is_help=True)
tokens_cli = typer.Typer(help="API bearer tokens.", no_args_is_help=True)


def demo(reset: Annotated[bool, typer.Option(
        "--reset", help="Erase everything in the configured store first.")] = False) -> None:
    """Seeds the NovaTech story and prints the pipeline, inventory and trial balance."""
    from o2c import demo as story
    from o2c.bootstrap import erase_store

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
