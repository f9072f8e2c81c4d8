"""Signing in and out, and the home page: the figures a manager opens first."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from o2c.application import O2C
from o2c.projections import reports
from o2c.web import core
from o2c.web.pages import audit, inventory, orders
from o2c.web.session import (
    LOGIN_COOKIE,
    CSRFError,
    check_csrf,
    form_of,
    login_csrf,
    sign_in,
    sign_out,
    viewer,
)

router = APIRouter(include_in_schema=False)


def _next(value: str) -> str:
    """Where to go after signing in: a path on this site only."""
    return value if value.startswith("/") and not value.startswith("//") else "/"


def _login_page(request: Request, error: str = "", status: int = 200,
                next_path: str = "/") -> HTMLResponse:
    response = HTMLResponse("")
    value = login_csrf(request, response)
    page = core.render(request, None, "login.html", status=status, error=error,
                       login_csrf=value, next=_next(next_path))
    page.raw_headers.extend(h for h in response.raw_headers if h[0] == b"set-cookie")
    return page


@router.get("/login")
def login(request: Request, next: str = "/") -> Response:
    """The sign-in form (a signed-in visitor goes on to the page asked for)."""
    if viewer(request) is not None:
        return RedirectResponse(_next(next), status_code=303)
    return _login_page(request, next_path=next)


@router.post("/login")
async def login_post(request: Request) -> Response:
    """Checks the token and starts a session; the form again with a message if not."""
    try:
        fields = await form_of(request)
        check_csrf(request, fields, request.cookies.get(LOGIN_COOKIE, ""))
    except CSRFError as exc:
        return _login_page(request, f"Refused: {exc}.", 403)
    form = core.Form(fields)
    target = _next(form.get("next", "/"))
    response = RedirectResponse(target, status_code=303)
    info = await run_in_threadpool(sign_in, request, response, form.get("token"))
    if info is None:
        return _login_page(request, "Unknown, revoked or expired token.", 401, target)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Ends the session in this browser."""
    who = viewer(request)
    fields = await form_of(request)
    if who is not None:
        try:
            check_csrf(request, fields, who.csrf)
        except CSRFError as exc:
            return core.refusal(request, who, f"Refused: {exc}.", 403)
    response = RedirectResponse("/login", status_code=303)
    await run_in_threadpool(sign_out, request, response)
    return response


def figures(app: O2C) -> dict[str, Any]:
    """What the home page shows, from the read models."""
    pipeline = reports.pipeline(app.db, app.places)
    aging = reports.ar_aging(app.db, app.places)
    overdue = [b for b in aging["buckets"] if b["bucket"] != "current"]
    stock = reports.inventory(app.db, app.places)
    return {
        "pipeline": pipeline,
        "overdue": {"count": sum(b["count"] for b in overdue),
                    "amount": sum((b["amount"] for b in overdue), Decimal(0))},
        "open_receivables": aging["total_open"],
        "stock_value": stock["total_value"],
        "low_stock": inventory.low_stock(app),
        "waiting": orders.waiting(app),
    }


@router.get("/")
def home(request: Request) -> Response:
    """The figures a manager opens first, each linking to its page."""
    who = core.signed_in(request)
    core.wait_fresh(request)
    app: O2C = request.app.state.o2c
    return core.render(request, who, "home.html", figures=figures(app),
                       verdict=audit.latest_verdict(request))
