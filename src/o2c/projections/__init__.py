"""Read models projected from the log, the projector that keeps them current, reports."""

from o2c.projections import reports, runner
from o2c.projections.runner import Projector

__all__ = ["Projector", "reports", "runner"]
