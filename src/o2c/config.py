"""Settings, read once from the environment (``O2C_*``) by the composition root.

Every value is checked when the settings are read, so a bad one stops any
command (``o2c serve`` included) at start with one line naming it, instead of
failing later on every order:

- ``O2C_TAX_RATE`` is a fraction, ``0 <= rate < 1`` (``0.08`` is 8 %), with at
  most six decimal places (``0.08875``); ``8`` is refused, not read as 8 %.
- ``O2C_BOOTSTRAP_TOKEN``, when set, has at least 16 characters and no
  whitespace (an empty value means "not set").
- ``O2C_CURRENCY`` is three ASCII letters (ISO 4217).
- ``O2C_DATABASE_URL`` starts with ``sqlite:///`` or ``postgresql://``; the
  composition root checks the rest (``o2c.bootstrap.check_store_url``).
"""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from o2c.domain import money, values
from o2c.domain.credit import DEFAULT_GRACE_DAYS
from o2c.domain.document_series import check_prefix
from o2c.domain.errors import O2CError
from o2c.domain.money import minor_units

#: Fewest characters of ``O2C_BOOTSTRAP_TOKEN`` (an admin token must not be guessable).
MIN_BOOTSTRAP_TOKEN = 16
#: URL schemes ``O2C_DATABASE_URL`` may use.
URL_SCHEMES = ("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")


class Settings(BaseSettings):
    """Everything o2c can be configured with; see README.md."""

    model_config = SettingsConfigDict(env_prefix="O2C_", extra="ignore")

    #: ``sqlite:///PATH`` or ``postgresql://user@host:port/db`` (``?schema=S`` optional).
    database_url: str = "sqlite:///./o2c.sqlite3"
    #: The book currency, ISO 4217.
    currency: str = "USD"
    #: A bearer token accepted with role ``admin`` (none by default).
    bootstrap_token: str | None = None
    #: Sales tax rate applied to new orders, a fraction: ``0.08`` is 8 %.
    tax_rate: Decimal = Decimal("0.08")
    #: Connections each process keeps to PostgreSQL.
    pool_size: int = Field(default=8, ge=1, le=100)
    #: Whether an API server keeps the read models current itself (turn off when
    #: ``o2c projections run`` workers do it).
    server_projector: bool = True
    #: Aggregates each process keeps in memory (fast-forwarded on every read).
    aggregate_cache_size: int = Field(default=5000, ge=0)
    #: The prefix of invoice numbers (``INV-2026-000123``): 1-12 capitals or digits.
    invoice_prefix: str = "INV"
    #: The prefix of credit note numbers (``CN-2026-000007``).
    credit_note_prefix: str = "CN"
    #: Days without activity after which an open lead or deal shows as stale.
    stale_days: int = Field(default=14, ge=1, le=3650)
    #: Days an invoice may be past due before its customer is on credit hold (0: overdue
    #: by a day is a hold; see ``o2c.domain.credit``).
    credit_grace_days: int = Field(default=DEFAULT_GRACE_DAYS, ge=0, le=values.MAX_DAYS)

    @field_validator("invoice_prefix", "credit_note_prefix")
    @classmethod
    def _series_prefix(cls, value: str) -> str:
        try:
            return check_prefix(value)
        except O2CError as error:
            raise ValueError(str(error)) from None

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(URL_SCHEMES):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        if len(value) != 3 or not (value.isascii() and value.isalpha()):
            raise ValueError(f"must be a three-letter ISO 4217 code, not {value!r}")
        try:
            minor_units(value)
        except O2CError as error:
            raise ValueError(str(error)) from None
        return value.upper()

    @field_validator("tax_rate", mode="before")
    @classmethod
    def _fraction(cls, value: object) -> Decimal:
        text = value.strip() if isinstance(value, str) else value
        try:
            rate = None if str(text).startswith("-") else money.rate(text)  # "-0" too
        except O2CError:
            rate = None
        if rate is None or rate >= 1 or rate.is_signed():
            raise ValueError(f"must be a fraction 0 <= rate < 1 with at most "
                             f"{money.RATE_PLACES} decimal places (0.08 is 8 %), "
                             f"not {value!r}")
        return rate

    @field_validator("bootstrap_token")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if not value:
            return None  # an empty variable means "no bootstrap token"
        if len(value) < MIN_BOOTSTRAP_TOKEN or any(c.isspace() for c in value):
            raise ValueError(f"must be at least {MIN_BOOTSTRAP_TOKEN} characters without "
                             f"spaces (it is {len(value)} long)")
        return value

    @cached_property
    def places(self) -> int:
        """Decimal places of the book currency."""
        return minor_units(self.currency)
