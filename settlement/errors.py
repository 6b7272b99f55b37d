"""Errors of the settlement package. They know nothing of HTTP: the shell maps `kind`.

Each error carries a snake_case `code` and a `kind` (see `ticketing.errors.KIND_STATUS`),
the same contract as `validators.errors`, so the shell needs no change for a new one.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SettlementError(Exception):
    """Base of every error the settlement package raises on purpose."""

    code: ClassVar[str] = "settlement_error"
    kind: ClassVar[str] = "invalid"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class ApportionmentError(SettlementError):
    """A split that cannot be made: no parts, a negative weight, an unknown method."""

    code = "invalid_apportionment"


class UnbalancedTransaction(SettlementError):
    """A ledger transaction whose postings do not add up to zero, or is otherwise malformed.

    A bug in a builder, never bad user input: it must stop the job before anything is
    written, which is why it is raised at construction time.
    """

    code = "unbalanced_transaction"


class LedgerConflict(SettlementError):
    """The same idempotency key posted twice with a different body (settlement.md §5)."""

    code = "ledger_conflict"
    kind = "conflict"


class GatewayError(SettlementError):
    """The payment gateway could not be used at all (configuration, unknown reference)."""

    code = "payment_gateway_error"
    kind = "unavailable"


class IdempotencyConflict(GatewayError):
    """An idempotency key reused with different parameters: a bug in the caller's keys,
    never something to retry (Stripe answers the same way)."""

    code = "idempotency_conflict"
    kind = "conflict"


class WebhookSignatureError(SettlementError):
    """A webhook whose signature, timestamp or body does not verify: never processed."""

    code = "invalid_signature"
    kind = "bad_request"


class InvalidRange(SettlementError):
    code = "invalid_range"
    kind = "invalid"
