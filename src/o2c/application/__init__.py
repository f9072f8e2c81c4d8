"""The application layer: o2c's use cases over the domain, on one event-sourced log.

- ``engine``: eventsourcing's plumbing (environment, transcodings, save, get);
- ``runner``: the command runner (idempotency, one atomic write, retries, hot
  locks) and ``@command``, which declares a use case and its stored payload;
- ``books``: the ledger's policy (chart, periods, control accounts, the entry
  each business event causes);
- ``crm``, ``orders``, ``stock``, ``ledger``: the use cases by business area;
- ``service``: ``O2C``, all of them together (built by ``o2c.bootstrap``).
"""

from o2c.application.runner import HOT_SECONDS, MAX_ATTEMPTS, Context, Result
from o2c.application.service import O2C, parse_date

__all__ = ["HOT_SECONDS", "MAX_ATTEMPTS", "O2C", "Context", "Result", "parse_date"]
