"""Sign-in for the browser: a signed session cookie, CSRF tokens, form bodies.

The cookie never carries the token. It reads ``<token id>.<expiry>.<signature>``:
the token's id is not secret (events record it), and the signature is an
HMAC-SHA256 under a key only the servers can derive (``TokenStore.session_key``:
from the token's stored hash, or the bootstrap token). Every request looks the
token up by its id, so a revoked or expired token ends its sessions at once, in
every server process, and nothing lives in one process's memory. The cookie is
HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it)
and lasts ``SESSION_SECONDS``.

Every form carries a CSRF token: an HMAC of the session under the same key, so it
is tied to the signed-in session and checked on every POST, beside the Origin
header when the browser sends one. The sign-in form, before any session exists,
uses a random value in a short-lived cookie that the form must repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request, Response

from o2c.auth import BOOTSTRAP_ID, MAX_TOKEN, TokenInfo, TokenStore

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


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("ascii"), hashlib.sha256).hexdigest()


def _tokens(request: Request) -> TokenStore:
    store: TokenStore = request.app.state.tokens
    return store


def sign_in(request: Request, response: Response, token: str) -> TokenInfo | None:
    """Looks the token up; sets the session cookie for its holder, or returns None."""
    token = token.strip()
    store = _tokens(request)
    info = store.lookup(token) if 0 < len(token) <= MAX_TOKEN else None
    if info is None:
        return None
    token_id = info.token_id or BOOTSTRAP_ID
    found = store.session_key(token_id)
    if found is None:
        return None
    _, key = found
    expires = int(time.time()) + SESSION_SECONDS
    body = f"{token_id}.{expires}"
    response.set_cookie(COOKIE, f"{body}.{_sign(key, body)}", max_age=SESSION_SECONDS,
                        httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return info


def sign_out(response: Response) -> None:
    """Forgets the session in this browser."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def viewer(request: Request) -> Viewer | None:
    """The signed-in holder, or None (no, a forged, an expired or a revoked session)."""
    value = request.cookies.get(COOKIE, "")
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[1]) > 12:
        return None
    token_id, expires, signature = parts
    if int(expires) < time.time():
        return None
    found = _tokens(request).session_key(token_id)
    if found is None:
        return None
    who, key = found
    body = f"{token_id}.{expires}"
    if not hmac.compare_digest(_sign(key, body), signature):
        return None
    return Viewer(who=who, csrf=_sign(key, f"csrf:{body}"))


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
