"""What every list route (``GET /customers``, ``/leads``...) shares: its query parameters
and how a page is answered; ``o2c.projections.lists`` does the reading.

A list route is::

    @router.get("", response_model=CustomerListPublic, dependencies=[allow(*ALL_ROLES)])
    def list_customers(query: Annotated[ListQuery, list_query("customers")]
                       ) -> CustomerListPublic:
        return query.page(CustomerListPublic)
"""

# No ``from __future__ import annotations`` here: the parameters of ``list_query``'s
# dependency are read by FastAPI from its annotations, which name local values.

from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, Query

from o2c.api.deps import AppDep, ProjectorDep
from o2c.api.routes._common import WAIT_SECONDS, fresh
from o2c.application import O2C
from o2c.projections import Projector, lists


class _PagePublic(Protocol):
    def __init__(self, *, items: list[Any], next_cursor: str | None,
                 position: int) -> None: ...


P = TypeVar("P", bound=_PagePublic)


@dataclass
class ListQuery:
    """One list request: which list, its parameters, and what reads it."""

    kind: str
    app: O2C
    projector: Projector
    limit: int
    cursor: str | None
    q: str | None
    status: str | None
    sort: str
    after: int | None
    filters: dict[str, str] = field(default_factory=dict)

    def page(self, model: type[P]) -> P:
        """The page, once the read models have reached ``after``, as ``model``."""
        position = fresh(self.projector, self.after)
        page = lists.LISTS[self.kind](
            self.app.db, self.app.places, limit=self.limit, cursor=self.cursor, q=self.q,
            status=self.status, sort=self.sort, **self.filters)
        return model(items=page.items, next_cursor=page.next_cursor, position=position)


#: What ``q`` looks in, per list (for the parameter's description).
SEARCHES = {
    "customers": "name, e-mail or id",
    "leads": "name, company, e-mail, source or id",
    "opportunities": "title, id, or the customer's name or e-mail",
    "sales_orders": "the order's number (SO-...) or id, or the customer's name or e-mail",
    "invoices": "the invoice's, credit note's or order's number, or the customer's name or "
                "e-mail",
    "stock_items": "SKU or name",
    "journal_entries": "memo, cause (e.g. SalesOrder.Invoiced; JournalEntry.Posted for "
                       "manual entries), an account code or the id",
}
#: What each sort means, per list.
SORT_MEANINGS = {
    "newest": "most recently recorded first", "oldest": "first recorded first",
    "name": "name A to Z, case-insensitive", "amount": "largest amount first",
    "close": "expected close date, soonest first", "due": "due date, soonest first",
    "sku": "SKU A to Z", "available": "fewest available first",
    "date": "effective date, latest first",
}


def list_query(kind: str, *, by_customer: bool = False) -> Any:
    """The dependency that reads one list's query parameters (``kind``: a name of
    ``lists.LISTS``); ``by_customer`` adds ``customer_id``."""
    statuses = lists.STATUSES[kind]
    sorts = list(lists.SORTS[kind])
    status_doc = ("Filter by status: one of " + ", ".join(f"`{s}`" for s in statuses)
                  + ", or several separated by commas (any of them)." if statuses
                  else "This list has no status: any value is refused (422).")
    sort_doc = "Order: " + "; ".join(f"`{s}` {SORT_MEANINGS[s]}" for s in sorts) + (
        f". Default `{sorts[0]}`.")

    def read(app: AppDep, projector: ProjectorDep,
             limit: int = Query(lists.DEFAULT_LIMIT, ge=1, le=lists.MAX_LIMIT, description=(
                 f"Items per page, 1 to {lists.MAX_LIMIT}.")),
             cursor: str | None = Query(None, min_length=1, max_length=lists.MAX_CURSOR,
                                        description=(
                 "Where the page starts: the `next_cursor` of the page before (opaque; "
                 "none for the first page). It belongs to one list and one sort.")),
             q: str | None = Query(None, max_length=lists.MAX_QUERY, description=(
                 f"Case-insensitive text search (a substring) in {SEARCHES[kind]}.")),
             status: str | None = Query(None, max_length=200, description=status_doc),
             sort: str = Query(sorts[0], pattern=f"^({'|'.join(sorts)})$",
                               description=sort_doc),
             after: int | None = Query(None, ge=0, le=2**62, description=(
                 f"A log position from a command's answer: wait (up to {WAIT_SECONDS:g} s) "
                 "until the read models have reached it, so the page shows that write. The "
                 "answer's `position` says how far the page reaches."))) -> ListQuery:
        return ListQuery(kind, app, projector, limit, cursor, q, status, sort, after)

    if not by_customer:
        return Depends(read)

    def read_by_customer(
            query: Annotated[ListQuery, Depends(read)],
            customer_id: str | None = Query(None, min_length=1, max_length=100,
                                            description="Only this customer's.")
    ) -> ListQuery:
        if customer_id is not None:
            query.filters["customer_id"] = customer_id
        return query

    return Depends(read_by_customer)
