"""The web app: o2c in the browser, on the same application, tokens and roles as the API.

Server-rendered HTML (Jinja2 templates) progressively enhanced with htmx and
Chart.js, both vendored as pinned single files under ``static/``. Every action is
the application's own use case, run with the signed-in token's actor, the form's
idempotency key and, where it matters, the page's version; the roles are the API
routes' own (``core.read_roles``), and refusals carry the domain's message.

- ``session``: the signed session cookie, CSRF tokens, form bodies;
- ``core``: templates, roles, running a command and showing its refusal;
- ``pages``: one module per area (home and sign-in, leads, pipeline, orders,
  inventory, books, audit), each a router of GET pages and POST forms.

``install(api)`` adds it to the API's app, before the API's own routes: the leads
pages share the API's addresses (``/leads``) and answer only browsers there
(``core.BrowserRoute``). The roles are read from the API's routes at the first request.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from o2c.web import core
from o2c.web.pages import activities as follow_up_pages
from o2c.web.pages import audit, books, home, inventory, leads, orders, periods, pipeline, prices
from o2c.web.pages import credit as credit_pages
from o2c.web.pages import returns as return_pages
from o2c.web.session import viewer


def install(api: FastAPI) -> None:
    """Adds the pages, the forms and ``/static`` to the API's app."""
    for module in (home, leads, pipeline, orders, inventory, books, periods, audit, prices):
        api.include_router(module.router)
    api.include_router(follow_up_pages.router)
    api.include_router(return_pages.router)
    api.include_router(credit_pages.router)
    api.mount("/static", StaticFiles(directory=core.HERE / "static"), name="static")

    @api.exception_handler(core.SignInRequired)
    def _sign_in(request: Request, _: core.SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)

    @api.exception_handler(core.Forbidden)
    def _forbidden(request: Request, exc: core.Forbidden) -> Response:
        return core.refusal(request, viewer(request), exc.message, 403)


__all__ = ["install"]
