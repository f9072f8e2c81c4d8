"""Sign-in for the browser: a signed session cookie, CSRF tokens, form bodies.

The cookie never carries the token: it holds a random session secret, and the
database keeps only that secret's SHA-256 with the token's id and the expiry
(``o2c.auth.open_session``), so reading the database does not let anyone sign
in. Every request looks the session and its token up (``session_holder``), so
signing out, a revoked or an expired token ends the session at once, in every
server process; nothing lives in one process's memory. The cookie is HttpOnly
(no script reads it), SameSite=Strict (no other site's page sends it) and lasts
``SESSION_SECONDS``.

Every form carries a CSRF token: an HMAC keyed with the session's secret, so it
is tied to the signed-in session and checked on every POST, beside the Origin
header when the browser sends one. The sign-in form, before any session exists,
uses a random value in a short-lived cookie that the form must repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request, Response

from o2c.auth import MAX_TOKEN, TokenInfo, TokenStore

COOKIE = "o2c_session"
LOGIN_COOKIE = "o2c_login"
SESSION_SECONDS = 12 * 3600
#: The largest form body read (the API's own limit on bodies is 1 MB).
MAX_FORM_BYTES = 256 * 1024


class CSRFError(Exception):
    """A form post without this session's CSRF token, or from another origin."""


@dataclass(frozen=True)
class Viewer:
    """Who is signed in: the token's holder and this session's CSRF token."""

    who: TokenInfo
    csrf: str

    @property
    def role(self) -> str:
        """The token's role."""
        return self.who.role


def _csrf(secret: str) -> str:
    return hmac.new(secret.encode("ascii"), b"o2c csrf", hashlib.sha256).hexdigest()


def _tokens(request: Request) -> TokenStore:
    store: TokenStore = request.app.state.tokens
    return store


def sign_in(request: Request, response: Response, token: str) -> TokenInfo | None:
    """Looks the token up; opens a session for its holder (the cookie), or None."""
    token = token.strip()
    store = _tokens(request)
    info = store.lookup(token) if 0 < len(token) <= MAX_TOKEN else None
    if info is None:
        return None
    secret = store.open_session(info, SESSION_SECONDS)
    response.set_cookie(COOKIE, secret, max_age=SESSION_SECONDS, httponly=True,
                        samesite="strict", path="/", secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return info


def sign_out(request: Request, response: Response) -> None:
    """Ends the session, on the server and in this browser."""
    secret = request.cookies.get(COOKIE, "")
    if secret:
        _tokens(request).close_session(secret)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def viewer(request: Request) -> Viewer | None:
    """The signed-in holder, or None (no, an unknown or an expired session; a revoked
    or expired token)."""
    secret = request.cookies.get(COOKIE, "")
    if not secret or len(secret) > MAX_TOKEN or not secret.isascii():
        return None
    who = _tokens(request).session_holder(secret)
    return None if who is None else Viewer(who=who, csrf=_csrf(secret))


def login_csrf(request: Request, response: Response) -> str:
    """The sign-in form's CSRF value (kept in a short-lived cookie the form repeats)."""
    value = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response.set_cookie(LOGIN_COOKIE, value, max_age=3600, httponly=True,
                        samesite="strict", path="/login",
                        secure=request.url.scheme == "https")
    return value


async def form_of(request: Request) -> dict[str, list[str]]:
    """The posted form (``application/x-www-form-urlencoded``), each field's values."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise CSRFError("the form is too large")
    fields: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=2000)
    except (UnicodeDecodeError, ValueError):
        raise CSRFError("the form could not be read") from None
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return fields


def same_origin(request: Request) -> bool:
    """False when the browser says the post comes from another origin."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    here = urlsplit(str(request.base_url))
    there = urlsplit(origin)
    return (there.scheme, there.netloc) == (here.scheme, here.netloc)


def check_csrf(request: Request, fields: dict[str, list[str]], expected: str) -> None:
    """Refuses a post from another origin or without the expected CSRF token."""
    given = (fields.get("csrf") or [""])[0]
    if not same_origin(request):
        raise CSRFError("this form was posted from another site")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CSRFError("this form has expired or did not come from this site; "
                        "reload the page and try again")
