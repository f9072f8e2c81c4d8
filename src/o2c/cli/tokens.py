"""``o2c tokens``: create, list and revoke the API's bearer tokens (for operators).

``create`` prints the token alone on stdout (``TOKEN=$(o2c tokens create --role
sales)``); it is shown this once, the store keeps only a salted hash. ``list``
never shows a secret (the store has none to show). ``revoke`` takes effect on
every server process from its next request.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from o2c.cli.common import fail, open_reader, out, writing
from o2c.domain.errors import O2CError

tokens_cli = typer.Typer(help="API bearer tokens: create, list, revoke.", no_args_is_help=True)

#: Longest lifetime ``--expires-in`` takes, in days (about 100 years).
MAX_DAYS = 36_500


def _expiry(expires_in: int | None, expires_at: str | None) -> datetime | None:
    """When a new token expires, from ``--expires-in DAYS`` or ``--expires-at WHEN``."""
    if expires_in is not None and expires_at is not None:
        raise fail("give --expires-in or --expires-at, not both")
    if expires_in is not None:
        if not 1 <= expires_in <= MAX_DAYS:
            raise fail(f"--expires-in must be a whole number of days from 1 to {MAX_DAYS}")
        return datetime.now(UTC) + timedelta(days=expires_in)
    if expires_at is None:
        return None
    text = expires_at.strip()
    try:
        if len(text) == 10:  # a date: the token works until that day begins (UTC)
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--expires-at must be an ISO 8601 date or time, not {text[:40]!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%SZ")


@tokens_cli.command("create")
def tokens_create(
    role: Annotated[str, typer.Option(help="sales, warehouse, finance, auditor or admin.")],
    name: Annotated[str | None, typer.Option(help="Who holds it.")] = None,
    expires_in: Annotated[int | None, typer.Option(
        "--expires-in", metavar="DAYS", help="Expires this many days from now.")] = None,
    expires_at: Annotated[str | None, typer.Option(
        "--expires-at", metavar="WHEN", help="Expires at this ISO 8601 time (UTC unless it "
                                             "says otherwise); a date means the start of "
                                             "that day, UTC.")] = None,
) -> None:
    """Prints a new bearer token, alone on stdout (it is shown only this once)."""
    from o2c import auth

    expiry = _expiry(expires_in, expires_at)
    with writing() as app:
        try:
            token = auth.create_token(app.db, role, name, expiry)
        except (ValueError, O2CError) as error:
            raise fail(str(error)) from None
    sys.stdout.write(token + "\n")


@tokens_cli.command("list")
def tokens_list(as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON: one object per token.")] = False) -> None:
    """Lists every stored token: id, role, holder, created, expires, revoked (never a
    secret)."""
    from o2c import auth

    now = datetime.now(UTC)
    app, _ = open_reader()  # creates no store, and works on a read-only one
    try:
        records = auth.list_tokens(app.db)
    finally:
        app.close()
    if as_json:
        sys.stdout.write(json.dumps([{
            "id": r.token_id, "role": r.role, "name": r.name, "state": r.state(now),
            "created": r.created_at.isoformat(),
            "expires": r.expires_at.isoformat() if r.expires_at else None,
            "revoked": r.revoked_at.isoformat() if r.revoked_at else None,
        } for r in records], indent=2) + "\n")
        return
    table = Table("id", "role", "name", "state", "created", "expires", "revoked")
    for r in records:
        table.add_row(*(Text(cell) for cell in (  # Text: a holder's name is not markup
            r.token_id, r.role, r.name, r.state(now), _when(r.created_at),
            _when(r.expires_at), _when(r.revoked_at))))
    out.print(table)


@tokens_cli.command("revoke")
def tokens_revoke(token_id: Annotated[str, typer.Argument(
        metavar="ID", help="The token's id, as `o2c tokens list` shows it.")]) -> None:
    """Revokes a token: every server refuses it from its next request on."""
    from o2c import auth

    with writing() as app:
        try:
            record = auth.revoke_token(app.db, token_id)
        except auth.UnknownTokenError as error:
            raise fail(str(error.args[0])) from None
    out.print(f"revoked {record.token_id} ({record.role}:{record.name}) "
              f"at {_when(record.revoked_at)}", markup=False, highlight=False)
