"""Read models projected from the log, the projector that keeps them current, reports.

- ``base``: what a read model is made of (tables, events as handlers see them, rows);
- ``pipeline``, ``inventory``, ``trial_balance``, ``receivables``, ``order_status``:
  one read model each, listed in ``read_models``;
- ``projector``: ``Projector``, which follows the log in batches;
- ``rebuild``: emptying, replaying and dropping read models;
- ``reports``: the queries over them.
"""

from o2c.projections import reports
from o2c.projections.projector import Projector

__all__ = ["Projector", "reports"]
