"""The composition root: settings from the environment, one application per process."""

from __future__ import annotations

from o2c.application import O2C
from o2c.config import Settings


def build_app(settings: Settings | None = None) -> O2C:
    """The application on the configured store (keep one per process)."""
    return O2C(settings or Settings())
