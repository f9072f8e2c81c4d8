"""Settings, read once from the environment (``O2C_*``) by the composition root."""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from o2c.domain.money import minor_units


class Settings(BaseSettings):
    """Everything o2c can be configured with; see README.md."""

    model_config = SettingsConfigDict(env_prefix="O2C_", extra="ignore")

    #: ``sqlite:///PATH`` or ``postgresql://user@host:port/db`` (``?schema=S`` optional).
    database_url: str = "sqlite:///./o2c.sqlite3"
    #: The book currency, ISO 4217.
    currency: str = "USD"
    #: A bearer token accepted with role ``admin`` (none by default).
    bootstrap_token: str | None = None
    #: Sales tax rate applied to new orders, e.g. ``0.08``.
    tax_rate: Decimal = Decimal("0.08")
    #: Connections each process keeps to PostgreSQL.
    pool_size: int = Field(default=8, ge=1, le=100)
    #: Whether an API server keeps the read models current itself (turn off when
    #: ``o2c projections run`` workers do it).
    server_projector: bool = True
    #: Aggregates each process keeps in memory (fast-forwarded on every read).
    aggregate_cache_size: int = Field(default=5000, ge=0)

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("O2C_CURRENCY must be a three-letter ISO 4217 code")
        return value.upper()

    @cached_property
    def places(self) -> int:
        """Decimal places of the book currency."""
        return minor_units(self.currency)
