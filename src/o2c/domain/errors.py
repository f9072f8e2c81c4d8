"""The one hierarchy of errors o2c raises.

Every error has a stable ``code`` (used as the ``error`` field of HTTP error
bodies) and a one-line message. The tree::

    O2CError
    ├── DomainError                     a business rule refused the command (409)
    │   ├── InsufficientStockError      insufficient_stock
    │   ├── InvalidStateError           invalid_state
    │   │   └── NothingToInvoiceError   nothing_to_invoice
    │   ├── UnbalancedEntryError        unbalanced_entry
    │   ├── OverpaymentError            overpayment
    │   ├── CountBelowReservedError     count_below_reserved
    │   ├── AlreadyExistsError          already_exists
    │   ├── PeriodClosedError           period_closed
    │   ├── ControlAccountError         control_account
    │   └── LimitExceededError          limit_exceeded: a derived figure beyond money.MAX_AMOUNT
    ├── InvalidInputError (ValueError)  the input itself is malformed (422)
    │   ├── InvalidAmountError          invalid_amount
    │   ├── InvalidQuantityError        invalid_quantity
    │   └── UnknownReferenceError       unknown_reference (an id named in a body)
    ├── NotFoundError (LookupError)     not_found: the addressed thing does not exist (404)
    ├── VersionMismatchError            version_mismatch: If-Match failed (412)
    ├── IdempotencyKeyReusedError       idempotency_key_reused: same key, other input (422)
    ├── ConcurrencyError                conflict: retries on a contended aggregate ran out (409)
    └── ProjectionStuckError            projection_stuck: a read model cannot apply an event
                                        of the log and stays before it (reports are stale)

Raising any of these records nothing: commands check every rule before any
event is triggered, and a failed command's aggregates are never saved.
"""

from __future__ import annotations


class O2CError(Exception):
    """Base of every error o2c raises on purpose."""

    code = "o2c_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DomainError(O2CError):
    """A business rule refused the command."""

    code = "business_rule"


class InsufficientStockError(DomainError):
    """Not enough unreserved stock to reserve, or not enough reserved to ship."""

    code = "insufficient_stock"


class OverShipmentError(DomainError):
    """A shipment asks for more of a line than the order has left to ship (the stock may
    well be there: it is the order that does not allow it)."""

    code = "over_shipment"


class InvalidStateError(DomainError):
    """The command does not apply in the aggregate's current state."""

    code = "invalid_state"


class NothingToInvoiceError(InvalidStateError):
    """Everything shipped on the order has already been invoiced."""

    code = "nothing_to_invoice"


class UnbalancedEntryError(DomainError):
    """A journal entry whose debits and credits differ, or is malformed."""

    code = "unbalanced_entry"


class OverpaymentError(DomainError):
    """A payment larger than what is invoiced and still open."""

    code = "overpayment"


class CountBelowReservedError(DomainError):
    """A stock count below what is reserved: release reservations first."""

    code = "count_below_reserved"


class AlreadyExistsError(DomainError):
    """Something with this natural key (SKU, account code) already exists."""

    code = "already_exists"


class PeriodClosedError(DomainError):
    """A posting dated inside a closed accounting period."""

    code = "period_closed"


class ControlAccountError(DomainError):
    """A manual posting to a control account (Receivable, Inventory), which only the
    business events that keep its subledger may post to."""

    code = "control_account"


class LimitExceededError(DomainError):
    """A figure the command would record (a count's value, a shipment's cost, an
    invoice's total) is beyond ``money.MAX_AMOUNT``, which keeps the read models'
    64-bit sums exact."""

    code = "limit_exceeded"


class CurrencyMismatchError(O2CError):
    """The configured currency is not the one the books were opened in."""

    code = "currency_mismatch"


class InvalidInputError(O2CError, ValueError):
    """The input is malformed: a bad value, a missing field, an over-long text."""

    code = "invalid_input"


class InvalidAmountError(InvalidInputError):
    """Money that is not finite, not positive, or more precise than the currency."""

    code = "invalid_amount"


class InvalidQuantityError(InvalidInputError):
    """A quantity that is not finite, not positive, or too precise."""

    code = "invalid_quantity"


class UnknownReferenceError(InvalidInputError):
    """The body names something that does not exist (an unknown SKU or account)."""

    code = "unknown_reference"


class NotFoundError(O2CError, LookupError):
    """The addressed aggregate does not exist."""

    code = "not_found"


class VersionMismatchError(O2CError):
    """The caller's expected version (If-Match) is not the aggregate's version."""

    code = "version_mismatch"


class IdempotencyKeyReusedError(O2CError):
    """An idempotency key already used for a different command or input."""

    code = "idempotency_key_reused"


class ConcurrencyError(O2CError):
    """Concurrent writers kept changing the same aggregate; retries ran out."""

    code = "conflict"


class ProjectionStuckError(O2CError):
    """A read model cannot apply an event of the log: it stays just before it (the
    books never skip an event), so what it shows is stale until the cause is fixed.
    The message names the read model, the log position and the error."""

    code = "projection_stuck"
