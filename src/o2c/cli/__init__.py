"""The ``o2c`` command line: demo, reports, projections, serving, tokens, audit, export.

Commands live by who uses them: ``books`` (reports, export, periods, journal),
``audit`` (verify, history), ``operations`` (demo, serve, projections, bench),
``tokens`` (create, list, revoke); ``common`` holds what they share and ``render``
how reports print.

Exit status (README.md has the table, and a test checks it against the CLI):

- 0 success;
- 1 a check failed (``o2c audit verify`` found the chain broken);
- 2 the command could not do what was asked: bad usage or input, a bad setting, no
  store (for commands that only read), a read-only store for one that writes, a
  file that cannot be written, a port taken; one line on stderr says why;
- 130 interrupted (Ctrl-C);
- 141 standard output was closed before the command finished (``| head``): what
  the command records is recorded whole, only its output was cut short.
"""

from __future__ import annotations

import contextlib
import os
import sys

import typer

from o2c.cli import activities, audit, books, operations, periods, tokens
from o2c.cli.common import EXIT_STDOUT_CLOSED, Output, stdout_closed
from o2c.domain.errors import O2CError

#: The exit status of a command interrupted by Ctrl-C (128 + SIGINT), as typer gives it.
EXIT_INTERRUPTED = 130

cli = typer.Typer(help="o2c: order to cash on one immutable log.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
cli.command()(operations.demo)
cli.command()(books.report)
cli.command()(operations.serve)
cli.add_typer(operations.projections_cli, name="projections")
cli.add_typer(audit.audit_cli, name="audit")
cli.add_typer(books.export_cli, name="export")
cli.add_typer(tokens.tokens_cli, name="tokens")
cli.add_typer(periods.periods_cli, name="periods")
cli.add_typer(books.journal_cli, name="journal")
cli.command()(operations.bench)
cli.command("follow-ups")(activities.follow_ups)


def main() -> None:
    """Entry point of the ``o2c`` console script: every failure is one line on stderr and
    an exit status of README.md's table (``EXIT_STATUS``)."""
    from eventsourcing.persistence import PersistenceError
    from psycopg import Error as DriverError
    from typer._click.exceptions import NoArgsIsHelpError

    try:
        code = cli(standalone_mode=False)
    except NoArgsIsHelpError as error:
        error.show()
        sys.exit(2)
    except typer.Abort:  # Ctrl-C, or end of input at a prompt
        sys.stderr.write("o2c: interrupted\n")
        sys.stderr.flush()
        with contextlib.suppress(OSError):
            sys.stdout.flush()
        # Straight out, without the interpreter's clean-up: the interrupted command's
        # open transaction (a generator in eventsourcing's pool) would otherwise be
        # finalised at exit and print "Exception ignored in ..." with a traceback.
        # What committed is on disk; what did not is rolled back by the database.
        os._exit(EXIT_INTERRUPTED)
    except O2CError as error:
        sys.stderr.write(f"o2c: {error.code}: {error.message}\n")
        sys.exit(2)
    except typer.TyperException as error:  # click's usage errors
        sys.stderr.write(f"o2c: {' '.join(error.format_message().split())}\n")
        sys.exit(error.exit_code)
    except BrokenPipeError:  # standard output closed early (``| head``)
        stdout_closed()
        sys.exit(EXIT_STDOUT_CLOSED)
    except OSError as error:  # a file or the network: one line, no traceback
        where = f": {error.filename}" if error.filename else ""
        sys.stderr.write(f"o2c: {(error.strerror or str(error)).splitlines()[0]}{where}\n")
        sys.exit(2)
    except (PersistenceError, DriverError) as error:  # the store failed mid-command
        text = " ".join(str(error).split()) or type(error).__name__
        sys.stderr.write(f"o2c: the store failed: {text[:300]}\n")
        sys.exit(2)
    if Output.closed:
        sys.exit(EXIT_STDOUT_CLOSED)
    if code == EXIT_INTERRUPTED:  # typer's answer to Ctrl-C, given without a word
        sys.stderr.write("o2c: interrupted\n")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
