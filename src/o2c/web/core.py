"""What every page shares: templates, who may do what, and running a command.

Roles are not written down here a second time: ``install`` reads them from the
API's own routes (each web action names the API route that does the same
thing, and the roles its ``allow(...)`` dependency lets through), so the page
offers, and the server performs, exactly what the API would. A refused command's
status comes from the API's one error table, asked through the app's exception
handler for ``O2CError``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import Scope

from o2c.application import O2C, Context, Result
from o2c.domain.errors import O2CError
from o2c.projections import Projector
from o2c.web.session import CSRFError, Viewer, check_csrf, form_of, viewer

HERE = Path(__file__).parent
#: How long a page after a command waits for the read models to show it.
WAIT_SECONDS = 3.0

#: Each action of the web app, and the API route that does the same (its roles).
ACTIONS: dict[str, tuple[str, str]] = {
    "lead.capture": ("POST", "/leads"),
    "lead.qualify": ("POST", "/leads/{lead_id}/qualify"),
    "lead.disqualify": ("POST", "/leads/{lead_id}/disqualify"),
    "lead.convert": ("POST", "/leads/{lead_id}/convert"),
    "opportunity.stage": ("POST", "/opportunities/{opportunity_id}/stage"),
    "opportunity.win": ("POST", "/opportunities/{opportunity_id}/win"),
    "opportunity.lose": ("POST", "/opportunities/{opportunity_id}/lose"),
    "order.confirm": ("POST", "/sales-orders/{order_id}/confirm"),
    "order.ship": ("POST", "/sales-orders/{order_id}/shipments"),
    "order.invoice": ("POST", "/sales-orders/{order_id}/invoices"),
    "order.pay": ("POST", "/sales-orders/{order_id}/payments"),
    "order.credit": ("POST", "/sales-orders/{order_id}/credit-notes"),
    "order.cancel": ("POST", "/sales-orders/{order_id}/cancel"),
    "order.return": ("POST", "/sales-orders/{order_id}/returns"),
    "order.authorise_return": ("POST", "/sales-orders/{order_id}/return-authorisations"),
    "order.cancel_rma": ("POST",
                         "/sales-orders/{order_id}/return-authorisations/{rma_number}/cancel"),
    "order.credit_release": ("POST", "/sales-orders/{order_id}/credit-release"),
    "customer.credit_limit": ("POST", "/customers/{customer_id}/credit-limit"),
    "stock.register": ("POST", "/stock-items"),
    "stock.receive": ("POST", "/stock-items/{sku}/receipts"),
    "stock.count": ("POST", "/stock-items/{sku}/adjustments"),
    "journal.post": ("POST", "/journal-entries"),
    "journal.reverse": ("POST", "/journal-entries/{entry_id}/reverse"),
    "period.close": ("POST", "/periods/close"),
    "period.reopen": ("POST", "/periods/reopen"),
    "period.year_end": ("POST", "/periods/year-end"),
    "activity.log": ("POST", "/leads/{lead_id}/activities"),
    "activity.complete": ("POST", "/activities/{activity_id}/complete"),
    "activity.reschedule": ("POST", "/activities/{activity_id}/reschedule"),
    "price.set": ("POST", "/price-lists/{name}/prices"),
    # Reading: every page reads reports; the audit pages read the log.
    "read": ("GET", "/reports/pipeline"),
    "audit.read": ("GET", "/audit/events"),
}


def _permitted(route: APIRoute) -> frozenset[str] | None:
    """The roles a route's ``allow(...)`` lets through (read from its closure)."""
    found: frozenset[str] | None = None
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        pending.extend(dependency.dependencies)
        call = dependency.call
        code = getattr(call, "__code__", None)
        cells = getattr(call, "__closure__", None)
        if code is None or not cells:
            continue
        for name, cell in zip(code.co_freevars, cells, strict=True):
            if name == "permitted" and isinstance(cell.cell_contents, (set, frozenset)):
                roles = frozenset(cell.cell_contents)
                found = roles if found is None else found & roles
    return found


def _walk(routes: Iterable[Any], prefix: str) -> Iterator[tuple[str, APIRoute]]:
    """Every API route with its prefix, inside included routers too."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix, route
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(included.routes, prefix + str(getattr(context, "prefix", "")))


def read_roles(api: FastAPI) -> dict[str, frozenset[str]]:
    """Each action's roles, from the API's routes; fails if a route is missing."""
    routes = {(method, prefix + route.path): route for prefix, route in _walk(api.routes, "")
              if not route.endpoint.__module__.startswith("o2c.web")
              for method in route.methods or ()}
    table: dict[str, frozenset[str]] = {}
    for action, key in ACTIONS.items():
        route = routes.get(key)
        roles = _permitted(route) if route is not None else None
        if roles is None:
            raise RuntimeError(f"the web action {action} needs the API route {key} "
                               "with its allowed roles")
        table[action] = roles
    return table


def roles_of(api: FastAPI) -> dict[str, frozenset[str]]:
    """Each action's roles, read from the API's routes once per app."""
    table: dict[str, frozenset[str]] | None = getattr(api.state, "web_roles", None)
    if table is None:
        table = api.state.web_roles = read_roles(api)
    return table


def may(request: Request, who: Viewer | None, action: str) -> bool:
    """Whether the signed-in role may take this action (the API's roles)."""
    return who is not None and who.role in roles_of(request.app)[action]


class BrowserRoute(APIRoute):
    """A page or form at an address the API also serves (``/leads``): it answers a
    browser (no ``Authorization`` header; a GET accepting HTML, or a posted form) and
    leaves every API client to the API's route of the same path."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        if "authorization" in headers:
            return Match.NONE, {}
        if scope.get("method") == "POST":
            browser = headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded")
        else:
            browser = "text/html" in headers.get("accept", "") or "hx-request" in headers
        return (match, child) if browser else (Match.NONE, {})


class SignInRequired(Exception):
    """A page asked for without a session."""


class Forbidden(Exception):
    """A page the signed-in role may not see."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def signed_in(request: Request, action: str = "read") -> Viewer:
    """The viewer of a page: a redirect to sign in without one, 403 without the role."""
    who = viewer(request)
    if who is None:
        raise SignInRequired
    if not may(request, who, action):
        raise Forbidden(f"Your role ({who.role}) may not see this page.")
    return who


# --- templates ------------------------------------------------------------------

def money(value: object) -> str:
    """A decimal amount with a thousands comma: 12,345.60 (exact, never a float)."""
    if value is None or value == "":
        return ""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return format(amount, ",f")


def quantity(value: object) -> str:
    """A quantity as a plain decimal without trailing zeros."""
    if value is None or value == "":
        return ""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    text = format(amount, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: object) -> str:
    """A rate (0.4 is 40.0 %)."""
    return f"{Decimal(str(value)) * 100:.1f} %"


def when(value: object) -> str:
    """A recording time, to the second, in UTC."""
    text = str(value or "")
    return text[:19].replace("T", " ") + (" UTC" if text else "")


templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True,
                        lstrip_blocks=True)
templates.filters.update(money=money, qty=quantity, percent=percent, when=when,
                         tojson_attr=lambda v: json.dumps(v, default=str))


def render(request: Request, who: Viewer | None, template: str, status: int = 200,
           **context: Any) -> HTMLResponse:
    """A page from its template, with what the layout needs."""
    done = request.query_params.get("done", "")[:300]
    html = templates.get_template(template).render(
        request=request, viewer=who, can=lambda action: may(request, who, action),
        key=lambda: str(uuid.uuid4()), done=done, path=request.url.path, **context)
    return HTMLResponse(html, status_code=status)


def refusal(request: Request, who: Viewer | None, message: str, status: int) -> HTMLResponse:
    """A refused request, as a page with its message."""
    return render(request, who, "refused.html", status=status, message=message)


# --- commands -------------------------------------------------------------------

class Form:
    """A posted form: the first value of a field, stripped, or every value."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str, default: str = "") -> str:
        """The field's first value, stripped ('' when absent)."""
        values = self.fields.get(name)
        return values[0].strip() if values else default

    def optional(self, name: str) -> str | None:
        """The field's value, or None when empty."""
        return self.get(name) or None

    def all(self, name: str) -> list[str]:
        """Every value of a repeated field, stripped."""
        return [value.strip() for value in self.fields.get(name, [])]

    def lines(self, *names: str) -> list[dict[str, str]]:
        """Repeated fields as lines (``sku``, ``quantity``...), skipping empty lines."""
        columns = [self.all(name) for name in names]
        rows = []
        for values in zip(*columns, strict=False):
            if any(values):
                rows.append(dict(zip(names, values, strict=True)))
        return rows


def _status(request: Request, exc: O2CError) -> int:
    """The API's status for a domain or application error (its one error table)."""
    handler = request.app.exception_handlers.get(O2CError)
    if handler is None:
        return 409
    response = handler(request, exc)
    return int(getattr(response, "status_code", 409))


Command = Callable[[O2C, Context, Form], Result]
Page = Callable[[Request, Viewer, str, int], Response]


def context_of(who: Viewer, form: Form) -> Context:
    """The command's context: the actor, the form's idempotency key and version."""
    version = form.get("version")
    return Context(actor=who.who.actor, idempotency_key=form.get("key")[:200] or None,
                   expected_version=int(version) if version.isdigit() and len(version) < 18
                   else None)


async def perform(request: Request, action: str, command: Command, page: Page,
                  then: Callable[[Result], str], done: Callable[[Result], str]) -> Response:
    """Runs one web action: session, CSRF, role, the use case; then the page again.

    A refusal re-renders the page with the message and the API's status for it;
    success waits for the read models to reach the command's position and
    redirects (303) to ``then(result)`` saying ``done(result)``.
    """
    who = viewer(request)
    try:
        fields = await form_of(request)
    except CSRFError as exc:
        return refusal(request, who, str(exc), 400)
    if who is None:
        return refusal(request, None, "Sign in first: this form was posted without a "
                                      "session (or from another site).", 403)
    try:
        check_csrf(request, fields, who.csrf)
    except CSRFError as exc:
        return refusal(request, who, f"Refused: {exc}.", 403)
    if not may(request, who, action):
        roles = roles_of(request.app)
        return await run_in_threadpool(
            page, request, who, f"Refused: your role ({who.role}) may not do this; "
                                f"allowed: {', '.join(sorted(roles[action]))}.", 403)
    form = Form(fields)
    app: O2C = request.app.state.o2c
    try:
        result = await run_in_threadpool(command, app, context_of(who, form), form)
    except O2CError as exc:
        return await run_in_threadpool(page, request, who, exc.message, _status(request, exc))
    projector: Projector = request.app.state.projector
    await run_in_threadpool(_wait, projector, result.position)
    return see_other(then(result), done(result))


def _wait(projector: Projector, position: int) -> None:
    if position:
        projector.wait_for(min(position, projector.head()), timeout=WAIT_SECONDS)


def see_other(path: str, message: str = "") -> RedirectResponse:
    """A 303 to a page, with a message it shows once."""
    if message:
        path += ("&" if "?" in path else "?") + urlencode({"done": message})
    return RedirectResponse(path, status_code=303)


def quoted(text: str) -> str:
    """A path segment (a SKU or an id) safe to put in a URL."""
    return quote(text, safe="")


def wait_fresh(request: Request) -> None:
    """Brings the read models up to the log's head before a page reads them (bounded; a
    stuck read model is not waited for: the page shows what it has)."""
    projector: Projector = request.app.state.projector
    projector.wait_for(projector.head(), timeout=WAIT_SECONDS)
