"""Dependencies: the application, the caller's identity and role, command context.

What the routes need is on ``app.state``, put there by the factory: the
application (``o2c``), the projector and the token store (``tokens``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from o2c.application import O2C, Context
from o2c.auth import MAX_TOKEN, ROLES, TokenInfo, TokenStore
from o2c.projections import Projector

ALL_ROLES = ROLES
#: The roles that may record anything (the auditor reads only).
WRITERS = frozenset(ROLES) - {"auditor"}

#: An id, SKU or account code in a path (longer ones cannot exist: 422).
PathId = Annotated[str, Path(min_length=1, max_length=100)]

bearer = HTTPBearer(
    auto_error=False, scheme_name="bearer",
    description="A token from `o2c tokens create --role ROLE` (until it expires or `o2c "
                "tokens revoke ID`), or `O2C_BOOTSTRAP_TOKEN` (admin). Who may write: "
                "sales (leads, customers, opportunities, placing, confirming and cancelling "
                "orders), warehouse (stock, confirming orders, shipments), finance (invoices, "
                "payments, credit notes, ledger accounts, journal entries, periods), auditor "
                "(nothing), admin (everything). Every role reads current state and reports; "
                "the audit log is for auditor, finance and admin. No, an unknown, a revoked "
                "or an expired token: 401; a role not allowed: 403.")


def get_app(request: Request) -> O2C:
    """The process's one application."""
    app: O2C = request.app.state.o2c
    return app


def get_projector(request: Request) -> Projector:
    """The process's projector (for read-your-writes waits)."""
    projector: Projector = request.app.state.projector
    return projector


AppDep = Annotated[O2C, Depends(get_app)]
ProjectorDep = Annotated[Projector, Depends(get_projector)]


def caller(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(bearer)]) -> TokenInfo:
    """The token's holder; 401 without a valid bearer token."""
    if credentials is None:
        raise HTTPException(401, "a bearer token is required (Authorization: Bearer TOKEN)")
    token = credentials.credentials.strip()
    store: TokenStore = request.app.state.tokens
    info = store.lookup(token) if 0 < len(token) <= MAX_TOKEN else None
    if info is None:
        # The same answer for every reason, and never the token itself.
        raise HTTPException(401, "unknown, revoked or expired bearer token")
    request.state.actor = info.actor  # for the access log (api/middleware.py)
    return info


ActorDep = Annotated[TokenInfo, Depends(caller)]


def allow(*roles: str) -> Any:
    """A dependency that lets only these roles (and admin) through; 403 otherwise."""
    permitted = {*roles, "admin"}

    def check(who: ActorDep) -> TokenInfo:
        if who.role not in permitted:
            raise HTTPException(403, f"role {who.role} may not do this; "
                                     f"allowed: {', '.join(sorted(permitted))}")
        return who

    return Depends(check)


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    cleaned = if_match.strip().removeprefix("W/").strip('"')
    if not cleaned.isdigit() or len(cleaned) > 18:
        raise HTTPException(422, "If-Match must be the aggregate's version, a whole number")
    return int(cleaned)


def command_context(
    who: ActorDep,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x20-\x7e]+$",
        description="Retry safely: the same key and body return the first answer and record "
                    "nothing more; the same key with another body is 422. Printable ASCII, "
                    "up to 200 characters. Kept in the database: it holds across server "
                    "processes and restarts.")] = None,
    if_match: Annotated[str | None, Header(
        alias="If-Match", max_length=40, pattern=r'^(W/)?"?[0-9]{1,18}"?$',
        description="The aggregate's expected version; a mismatch answers 412.")] = None,
) -> Context:
    """Who acts, under which idempotency key and expected version. Every command takes
    this, so the auditor is refused here too, whatever the route's own roles say."""
    if who.role not in WRITERS:
        raise HTTPException(403, f"role {who.role} may not write")
    return Context(actor=who.actor, idempotency_key=idempotency_key or None,
                   expected_version=_version(if_match))


ContextDep = Annotated[Context, Depends(command_context)]
