"""The payment gateway interface: what settlement needs from any processor.

Two implementations sit behind it, chosen by configuration: `simulated.SimulatedAcquirer`
(development, tests, the embedded default) and `stripe_gateway.StripeGateway`.

Every call that moves money carries a deterministic idempotency key (DESIGN §3); the
`retrying` helper retries transient failures with that *same* key, so a retry can replay
an outcome but never charge twice.

Statuses, as the caller should act on them:

- charge `succeeded`: money is coming; post `ledger.charge_captured`.
- charge `declined`: the issuer said no (a final answer): deny-list the card, record debt.
- charge `failed`: transient (processor error, network, timeout): retry with the same key;
  if it still fails, leave the card-day for the next run, never mark it declined.
- refund `succeeded` / `pending` (accepted, may still fail at the bank) / `rejected`
  (final: unknown or failed charge, more than was charged) / `failed` (transient).

Amounts are integer minor units with an ISO 4217 code, upper case on our side.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Protocol, TypeVar

from settlement.errors import GatewayError


class EnrolmentStatus(StrEnum):
    ENROLLED = "enrolled"
    DECLINED = "declined"
    FAILED = "failed"


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    FAILED = "failed"


class RefundStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PENDING = "pending"
    REJECTED = "rejected"
    FAILED = "failed"


class ProcessorRecordKind(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"
    PAYOUT = "payout"
    # Anything else the processor reports (disputes, standalone fees): kept, not dropped,
    # so reconciliation sees it; `metadata["type"]` holds the processor's own type.
    OTHER = "other"


TRANSIENT = "failed"


@dataclass(frozen=True, slots=True)
class CardForEnrolment:
    """A card being registered with the processor.

    The simulated acquirer sees only `bin` and `last4`. Stripe needs the number, which
    reaches it exactly once, here; `pan` and `cvc` are left out of `repr` so that a log
    line or a traceback showing this object never shows them.
    """

    card_token: str
    bin: str
    last4: str
    exp_month: int
    exp_year: int
    pan: str | None = field(default=None, repr=False)
    cvc: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.card_token:
            raise GatewayError("A card for enrolment needs its token.")
        if len(self.bin) != 6 or not self.bin.isdigit():
            raise GatewayError("A card's BIN is its first 6 digits.")
        if len(self.last4) != 4 or not self.last4.isdigit():
            raise GatewayError("A card's last 4 are 4 digits.")
        if not 1 <= self.exp_month <= 12:
            raise GatewayError("A card's expiry month is 1 to 12.")
        if self.pan is not None and not (
            self.pan.isdigit() and self.pan[:6] == self.bin and self.pan[-4:] == self.last4
        ):
            # The message must not echo the number.
            raise GatewayError("The card number does not match its BIN and last 4.")

    @classmethod
    def from_pan(
        cls,
        pan: str,
        *,
        card_token: str,
        exp_month: int,
        exp_year: int,
        cvc: str | None = None,
    ) -> CardForEnrolment:
        return cls(
            card_token=card_token,
            bin=pan[:6],
            last4=pan[-4:],
            exp_month=exp_month,
            exp_year=exp_year,
            pan=pan,
            cvc=cvc,
        )


@dataclass(frozen=True, slots=True)
class EnrolmentResult:
    """`reference` is opaque and gateway-specific: store it, pass it back to `charge`."""

    status: EnrolmentStatus
    reference: str | None
    decline_code: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """`processor_id` is the processor's id of the payment (None if it never got one);
    `fee_minor` is None when the processor reports fees only later (Stripe)."""

    status: ChargeStatus
    idempotency_key: str
    amount_minor: int
    currency: str
    processor_id: str | None
    decline_code: str | None = None
    message: str | None = None
    fee_minor: int | None = None


@dataclass(frozen=True, slots=True)
class RefundResult:
    status: RefundStatus
    idempotency_key: str
    charge_id: str
    amount_minor: int
    refund_id: str | None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessorRecord:
    """One movement of our balance at the processor, for reconciliation (settlement.md §8).

    Signs follow the processor balance: a charge is positive, a refund and a payout are
    negative; `net_minor = amount_minor - fee_minor`. A payout's amount is minus the sum
    of the nets it pays out. `idempotency_key` is ours, read back from the processor's
    metadata, so records join our charge rows without trusting timestamps.
    """

    processor_id: str
    kind: ProcessorRecordKind
    currency: str
    amount_minor: int
    fee_minor: int
    net_minor: int
    created_on: date
    payout_id: str | None = None
    payout_date: date | None = None
    idempotency_key: str | None = None
    source_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.net_minor != self.amount_minor - self.fee_minor:
            raise GatewayError(
                f"Processor record {self.processor_id}: net {self.net_minor} is not "
                f"amount {self.amount_minor} minus fee {self.fee_minor}."
            )


class PaymentGateway(Protocol):
    def enrol(self, card: CardForEnrolment) -> EnrolmentResult: ...

    def charge(
        self,
        *,
        reference: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: Mapping[str, str] | None = None,
    ) -> ChargeResult: ...

    def refund(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> RefundResult:
        """`charge_id` is the `processor_id` of a succeeded `ChargeResult`."""
        ...

    def settlement_records(self, from_day: date, to_day: date) -> list[ProcessorRecord]:
        """Balance movements created on `from_day` to `to_day`, both included (UTC)."""
        ...


class Delegating:
    """A gateway that passes every call to `inner`: what wraps a gateway to change one
    answer (enrolment markers, a test's scripted answers) overrides only that method."""

    def __init__(self, inner: PaymentGateway) -> None:
        self.inner = inner

    def enrol(self, card: CardForEnrolment) -> EnrolmentResult:
        return self.inner.enrol(card)

    def charge(
        self,
        *,
        reference: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        description: str,
        metadata: Mapping[str, str] | None = None,
    ) -> ChargeResult:
        return self.inner.charge(
            reference=reference,
            amount_minor=amount_minor,
            currency=currency,
            idempotency_key=idempotency_key,
            description=description,
            metadata=metadata,
        )

    def refund(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> RefundResult:
        return self.inner.refund(
            charge_id=charge_id, amount_minor=amount_minor, idempotency_key=idempotency_key
        )

    def settlement_records(self, from_day: date, to_day: date) -> list[ProcessorRecord]:
        return self.inner.settlement_records(from_day, to_day)


class _Outcome(Protocol):
    @property
    def status(self) -> str: ...


OutcomeT = TypeVar("OutcomeT", bound=_Outcome)
OutcomeT_co = TypeVar("OutcomeT_co", bound=_Outcome, covariant=True)


class KeyedCall(Protocol[OutcomeT_co]):
    """A gateway call with everything bound except the idempotency key, which `retrying`
    supplies: e.g. `functools.partial(gateway.charge, reference=..., amount_minor=...)`."""

    def __call__(self, *, idempotency_key: str) -> OutcomeT_co: ...


def retrying(
    call: KeyedCall[OutcomeT],
    *,
    idempotency_key: str,
    attempts: int = 3,
    backoff: float = 0.5,
    max_backoff: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    retry_on: tuple[type[Exception], ...] = (TimeoutError, ConnectionError),
) -> OutcomeT:
    """Call until the outcome is final or `attempts` are used, waiting `backoff`, then
    twice as long each time (capped at `max_backoff` seconds).

    The key is passed in here, not baked into `call`, so every attempt provably carries
    the same one: the processor then treats a retry of a charge that did go through as
    a replay, not a second charge. Returns the last outcome (still `failed` if every
    attempt failed); re-raises the last `retry_on` exception if the last attempt raised.
    """
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    delay = backoff
    for attempt in range(1, attempts + 1):
        try:
            outcome = call(idempotency_key=idempotency_key)
        except retry_on:
            if attempt == attempts:
                raise
        else:
            if outcome.status != TRANSIENT or attempt == attempts:
                return outcome
        sleep(min(delay, max_backoff))
        delay *= 2
    raise AssertionError("unreachable: the last attempt returns or raises")
