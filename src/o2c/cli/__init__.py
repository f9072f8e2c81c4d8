"""The ``o2c`` command line: demo, reports, projections, serving, tokens, audit, export.

Commands live by who uses them: ``books`` (reports, export, periods, journal),
``audit`` (verify, history), ``operations`` (demo, serve, projections, tokens,
bench); ``common`` holds what they share and ``render`` how reports print.

Exit status: 0 success, 1 a check failed, 2 bad usage or input (one-line reason).
"""

from __future__ import annotations

import sys

import typer

from o2c.cli import audit, books, operations
from o2c.domain.errors import O2CError

cli = typer.Typer(help="o2c: order to cash on one immutable log.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
cli.command()(operations.demo)
cli.command()(books.report)
cli.command()(operations.serve)
cli.add_typer(operations.projections_cli, name="projections")
cli.add_typer(audit.audit_cli, name="audit")
cli.add_typer(books.export_cli, name="export")
cli.add_typer(operations.tokens_cli, name="tokens")
cli.add_typer(books.periods_cli, name="periods")
cli.add_typer(books.journal_cli, name="journal")
cli.command()(operations.bench)


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
