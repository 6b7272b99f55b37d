"""A deterministic simulated acquirer: the built-in gateway for development and tests.

Like a transit acquirer it sees only a card's BIN (first 6) and last 4 (DESIGN §3).
Test cards, all with BIN `400000` (they mirror Stripe's 4000 0000 0000 xxxx numbers):

| last 4 | every charge |
| --- | --- |
| `0002` | is declined, decline code `do_not_honor` (the card goes on the deny list) |
| `0119` | fails (processor error) on its first two attempts per idempotency key, then succeeds |
| `0259` | answers after 2 s (the wait goes through the injectable `sleep`) |
| other  | is approved; so is every card with another BIN |

Enrolment always succeeds: the test cards misbehave when charged, not when registered.

**Fees**: 0.2 % + 0.05 per successful charge (`FeeSchedule(basis_points=20,
fixed_minor=5)`, configurable; the fixed part is in the charge's currency). The
percentage is computed exactly and rounded half up to the minor unit, then the fixed fee
is added: 880 -> 1.76 -> 2 + 5 = 7; 250 -> 0.5 -> 1 + 5 = 6. Refunds carry no fee and
do not return the charge's fee, as with most European acquirers.

**Idempotency**: a charge or refund is a function of its idempotency key: the same key
with the same parameters returns the recorded result and never charges twice; the same
key with other parameters raises `IdempotencyConflict`. Only final results (succeeded,
declined, rejected) are recorded; a `failed` attempt is not, so a retry with the same key
is a new attempt, which is what lets `0119` succeed on its third.

**State and persistence**: everything lives in memory, but all of it is exposed as
frozen records (`charges`, `refunds`, `attempts`) that the caller can store and pass back
to the constructor, and the settlement file is a pure function of those records:
`settlement_file(charges, refunds)`. Each successful charge is paid out two business days
(Monday to Friday, minus `holidays`) after the day it was made (UTC), in one payout per
payout date and currency, id `sim_po_<YYYYMMDD>_<currency>`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from settlement.errors import GatewayError, IdempotencyConflict
from settlement.gateway import (
    CardForEnrolment,
    ChargeResult,
    ChargeStatus,
    EnrolmentResult,
    EnrolmentStatus,
    ProcessorRecord,
    ProcessorRecordKind,
    RefundResult,
    RefundStatus,
)

TEST_BIN = "400000"
DECLINED_LAST4 = "0002"
FLAKY_LAST4 = "0119"
SLOW_LAST4 = "0259"
DECLINE_CODE = "do_not_honor"
FLAKY_FAILURES = 2
SLOW_ANSWER_S = 2.0
PAYOUT_DELAY_BUSINESS_DAYS = 2
REFERENCE_PREFIX = "sim"


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    basis_points: int = 20
    fixed_minor: int = 5

    def __post_init__(self) -> None:
        if self.basis_points < 0 or self.fixed_minor < 0:
            raise GatewayError("Fees cannot be negative.")

    def fee_for(self, amount_minor: int) -> int:
        # Round half up, in integers: (a * bp + 5000) // 10000 == round_half_up(a * bp / 1e4)
        # for a >= 0.
        return (amount_minor * self.basis_points + 5_000) // 10_000 + self.fixed_minor


@dataclass(frozen=True, slots=True)
class SimulatedCharge:
    """A charge the simulated acquirer gave a final answer to (succeeded or declined)."""

    processor_id: str
    idempotency_key: str
    reference: str
    amount_minor: int
    currency: str
    status: ChargeStatus
    fee_minor: int
    charged_on: date
    decline_code: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict, hash=False)

    def result(self) -> ChargeResult:
        return ChargeResult(
            status=self.status,
            idempotency_key=self.idempotency_key,
            amount_minor=self.amount_minor,
            currency=self.currency,
            processor_id=self.processor_id,
            decline_code=self.decline_code,
            message="declined by the issuer (simulated)" if self.decline_code else None,
            fee_minor=self.fee_minor,
        )


@dataclass(frozen=True, slots=True)
class SimulatedRefund:
    refund_id: str
    idempotency_key: str
    charge_id: str
    amount_minor: int
    currency: str
    refunded_on: date

    def result(self) -> RefundResult:
        return RefundResult(
            status=RefundStatus.SUCCEEDED,
            idempotency_key=self.idempotency_key,
            charge_id=self.charge_id,
            amount_minor=self.amount_minor,
            refund_id=self.refund_id,
        )


def _digest(text: str, length: int = 24) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def reference_for(bin6: str, last4: str, card_token: str) -> str:
    """The simulated acquirer's card reference: BIN and last 4 (all it acts on) plus a
    digest of the token so that two cards sharing both still get distinct references."""
    return f"{REFERENCE_PREFIX}:{bin6}:{last4}:{_digest(card_token, 16)}"


def charge_id_for(idempotency_key: str) -> str:
    """The processor id of the charge made with this key."""
    return f"sim_ch_{_digest(idempotency_key)}"


def approves_at_once(bin6: str, last4: str) -> bool:
    """Whether a first charge of this card is approved at its first attempt, without
    waiting: every card but the declining, flaky and slow test cards."""
    return bin6 != TEST_BIN or last4 not in (DECLINED_LAST4, FLAKY_LAST4, SLOW_LAST4)


def _parse_reference(reference: str) -> tuple[str, str]:
    parts = reference.split(":")
    if len(parts) != 4 or parts[0] != REFERENCE_PREFIX:
        raise GatewayError("Not a simulated acquirer card reference.")
    return parts[1], parts[2]


def add_business_days(day: date, count: int, holidays: Collection[date] = ()) -> date:
    current = day
    remaining = count
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def payout_id_for(payout_date: date, currency: str) -> str:
    return f"sim_po_{payout_date:%Y%m%d}_{currency.lower()}"


def settlement_file(
    charges: Iterable[SimulatedCharge],
    refunds: Iterable[SimulatedRefund] = (),
    *,
    holidays: Collection[date] = (),
) -> list[ProcessorRecord]:
    """What the acquirer reports and pays: a pure function of its charges and refunds.

    One record per successful charge (amount, fee, net) and per refund (negative, no
    fee), each with the payout that carries it, then one payout record per payout id,
    whose amount is minus the sum of the nets it pays. Declined charges move no money
    and do not appear. Sorted by payout date, then kind, then id.
    """
    records: list[ProcessorRecord] = []
    for charge in charges:
        if charge.status is not ChargeStatus.SUCCEEDED:
            continue
        paid_on = add_business_days(charge.charged_on, PAYOUT_DELAY_BUSINESS_DAYS, holidays)
        records.append(
            ProcessorRecord(
                processor_id=charge.processor_id,
                kind=ProcessorRecordKind.CHARGE,
                currency=charge.currency,
                amount_minor=charge.amount_minor,
                fee_minor=charge.fee_minor,
                net_minor=charge.amount_minor - charge.fee_minor,
                created_on=charge.charged_on,
                payout_id=payout_id_for(paid_on, charge.currency),
                payout_date=paid_on,
                idempotency_key=charge.idempotency_key,
                metadata=dict(charge.metadata),
            )
        )
    for refund in refunds:
        paid_on = add_business_days(refund.refunded_on, PAYOUT_DELAY_BUSINESS_DAYS, holidays)
        records.append(
            ProcessorRecord(
                processor_id=refund.refund_id,
                kind=ProcessorRecordKind.REFUND,
                currency=refund.currency,
                amount_minor=-refund.amount_minor,
                fee_minor=0,
                net_minor=-refund.amount_minor,
                created_on=refund.refunded_on,
                payout_id=payout_id_for(paid_on, refund.currency),
                payout_date=paid_on,
                idempotency_key=refund.idempotency_key,
                source_id=refund.charge_id,
            )
        )

    payouts: dict[str, tuple[date, str, int]] = {}
    for record in records:
        assert record.payout_id is not None and record.payout_date is not None
        _, _, total = payouts.get(record.payout_id, (record.payout_date, record.currency, 0))
        payouts[record.payout_id] = (record.payout_date, record.currency, total + record.net_minor)
    for payout_id, (paid_on, currency, net_total) in payouts.items():
        records.append(
            ProcessorRecord(
                processor_id=payout_id,
                kind=ProcessorRecordKind.PAYOUT,
                currency=currency,
                amount_minor=-net_total,
                fee_minor=0,
                net_minor=-net_total,
                created_on=paid_on,
                payout_id=payout_id,
                payout_date=paid_on,
            )
        )

    kind_order = {ProcessorRecordKind.CHARGE: 0, ProcessorRecordKind.REFUND: 1}
    records.sort(key=lambda r: (r.payout_date, kind_order.get(r.kind, 2), r.processor_id))
    return records


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimulatedAcquirer:
    """The simulated gateway (see the module docstring for its test cards and fees).

    `sleep` and `clock` are injectable so tests neither wait 2 s nor depend on today;
    `charges`, `refunds` and `attempts` restore state the caller persisted.
    """

    def __init__(
        self,
        *,
        fees: FeeSchedule | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utc_now,
        holidays: Collection[date] = (),
        charges: Iterable[SimulatedCharge] = (),
        refunds: Iterable[SimulatedRefund] = (),
        attempts: Mapping[str, int] | None = None,
    ) -> None:
        self._fees = fees or FeeSchedule()
        self._sleep = sleep
        self._clock = clock
        self._holidays = frozenset(holidays)
        self._charges: dict[str, SimulatedCharge] = {c.idempotency_key: c for c in charges}
        self._refunds: dict[str, SimulatedRefund] = {r.idempotency_key: r for r in refunds}
        self._attempts: dict[str, int] = dict(attempts or {})

    @property
    def charges(self) -> tuple[SimulatedCharge, ...]:
        return tuple(self._charges.values())

    @property
    def refunds(self) -> tuple[SimulatedRefund, ...]:
        return tuple(self._refunds.values())

    @property
    def attempts(self) -> dict[str, int]:
        """Failed attempts so far per idempotency key (only `0119` cards have any)."""
        return dict(self._attempts)

    def _today(self) -> date:
        return self._clock().astimezone(UTC).date()

    def enrol(self, card: CardForEnrolment) -> EnrolmentResult:
        return EnrolmentResult(
            status=EnrolmentStatus.ENROLLED,
            reference=reference_for(card.bin, card.last4, card.card_token),
        )

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
        del description  # A real acquirer would show it on a statement; we have none.
        if amount_minor <= 0:
            raise GatewayError(f"A charge must be positive, not {amount_minor}.")
        if not idempotency_key:
            raise GatewayError("A charge needs an idempotency key.")
        bin6, last4 = _parse_reference(reference)

        existing = self._charges.get(idempotency_key)
        if existing is not None:
            if (existing.reference, existing.amount_minor, existing.currency) != (
                reference,
                amount_minor,
                currency,
            ):
                raise IdempotencyConflict(
                    f"Idempotency key {idempotency_key} was used for another charge."
                )
            return existing.result()

        is_test_card = bin6 == TEST_BIN
        if is_test_card and last4 == SLOW_LAST4:
            self._sleep(SLOW_ANSWER_S)
        if is_test_card and last4 == FLAKY_LAST4:
            failures = self._attempts.get(idempotency_key, 0)
            if failures < FLAKY_FAILURES:
                self._attempts[idempotency_key] = failures + 1
                return ChargeResult(
                    status=ChargeStatus.FAILED,
                    idempotency_key=idempotency_key,
                    amount_minor=amount_minor,
                    currency=currency,
                    processor_id=None,
                    message="processor error (simulated); retry with the same key",
                )

        declined = is_test_card and last4 == DECLINED_LAST4
        record = SimulatedCharge(
            processor_id=charge_id_for(idempotency_key),
            idempotency_key=idempotency_key,
            reference=reference,
            amount_minor=amount_minor,
            currency=currency,
            status=ChargeStatus.DECLINED if declined else ChargeStatus.SUCCEEDED,
            fee_minor=0 if declined else self._fees.fee_for(amount_minor),
            charged_on=self._today(),
            decline_code=DECLINE_CODE if declined else None,
            metadata=dict(metadata or {}),
        )
        self._charges[idempotency_key] = record
        return record.result()

    def refund(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> RefundResult:
        existing = self._refunds.get(idempotency_key)
        if existing is not None:
            if (existing.charge_id, existing.amount_minor) != (charge_id, amount_minor):
                raise IdempotencyConflict(
                    f"Idempotency key {idempotency_key} was used for another refund."
                )
            return existing.result()

        def rejected(message: str) -> RefundResult:
            return RefundResult(
                status=RefundStatus.REJECTED,
                idempotency_key=idempotency_key,
                charge_id=charge_id,
                amount_minor=amount_minor,
                refund_id=None,
                message=message,
            )

        charge = next((c for c in self._charges.values() if c.processor_id == charge_id), None)
        if charge is None:
            return rejected("no such charge")
        if charge.status is not ChargeStatus.SUCCEEDED:
            return rejected("a declined charge cannot be refunded")
        if amount_minor <= 0:
            return rejected("a refund must be positive")
        already = sum(r.amount_minor for r in self._refunds.values() if r.charge_id == charge_id)
        if already + amount_minor > charge.amount_minor:
            return rejected(
                f"refunds would total {already + amount_minor}, more than the charge of "
                f"{charge.amount_minor}"
            )
        record = SimulatedRefund(
            refund_id=f"sim_re_{_digest(idempotency_key)}",
            idempotency_key=idempotency_key,
            charge_id=charge_id,
            amount_minor=amount_minor,
            currency=charge.currency,
            refunded_on=self._today(),
        )
        self._refunds[idempotency_key] = record
        return record.result()

    def settlement_records(self, from_day: date, to_day: date) -> list[ProcessorRecord]:
        """The settlement file's records created from `from_day` to `to_day` inclusive;
        a payout appears when its date falls in the range."""
        return [
            record
            for record in settlement_file(self.charges, self.refunds, holidays=self._holidays)
            if from_day <= record.created_on <= to_day
        ]
