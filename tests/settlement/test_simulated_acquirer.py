"""The simulated acquirer: its test cards, idempotency, fees and settlement file."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime
from fractions import Fraction
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.errors import IdempotencyConflict
from settlement.gateway import (
    CardForEnrolment,
    ChargeResult,
    ChargeStatus,
    EnrolmentStatus,
    ProcessorRecordKind,
    RefundStatus,
    retrying,
)
from settlement.simulated import (
    FeeSchedule,
    SimulatedAcquirer,
    SimulatedCharge,
    SimulatedRefund,
    settlement_file,
)

THURSDAY = datetime(2026, 11, 26, 4, 35, tzinfo=UTC)


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def acquirer(
    sleeps: Sleeps | None = None,
    when: datetime = THURSDAY,
    *,
    holidays: Collection[date] = (),
    charges: Iterable[SimulatedCharge] = (),
    refunds: Iterable[SimulatedRefund] = (),
    attempts: Mapping[str, int] | None = None,
) -> SimulatedAcquirer:
    return SimulatedAcquirer(
        sleep=sleeps or Sleeps(),
        clock=lambda: when,
        holidays=holidays,
        charges=charges,
        refunds=refunds,
        attempts=attempts,
    )


def enrol(gateway: SimulatedAcquirer, pan: str, token: str = "tok") -> str:
    card = CardForEnrolment.from_pan(pan, card_token=token, exp_month=12, exp_year=2030)
    result = gateway.enrol(card)
    assert result.status is EnrolmentStatus.ENROLLED
    assert result.reference is not None
    return result.reference


def charge(gateway: SimulatedAcquirer, reference: str, key: str, amount: int = 880) -> ChargeResult:
    return gateway.charge(
        reference=reference,
        amount_minor=amount,
        currency="EUR",
        idempotency_key=key,
        description="Transit 2026-11-26",
    )


def test_an_ordinary_card_is_approved_with_its_fee() -> None:
    gateway = acquirer()
    result = charge(gateway, enrol(gateway, "4970101234567890"), "charge:tok:2026-11-26")
    assert result.status is ChargeStatus.SUCCEEDED
    assert result.processor_id is not None and result.processor_id.startswith("sim_ch_")
    assert result.fee_minor == 7  # 880 x 0.2 % = 1.76 -> 2, + 5
    assert result.decline_code is None


def test_card_0002_declines_every_charge() -> None:
    gateway = acquirer()
    reference = enrol(gateway, "4000000000000002")
    for day in ("2026-11-26", "2026-11-27"):
        result = charge(gateway, reference, f"charge:tok:{day}")
        assert result.status is ChargeStatus.DECLINED
        assert result.decline_code == "do_not_honor"
        assert result.fee_minor == 0


def test_the_test_cards_need_the_test_bin() -> None:
    gateway = acquirer()
    assert charge(gateway, enrol(gateway, "4970100000000002"), "k").status is ChargeStatus.SUCCEEDED


def test_card_0119_fails_twice_then_succeeds_per_charge() -> None:
    gateway = acquirer()
    reference = enrol(gateway, "4000000000000119")
    statuses = [charge(gateway, reference, "charge:tok:day1").status for _ in range(4)]
    assert statuses == ["failed", "failed", "succeeded", "succeeded"]
    # Another charge (another key) fails twice again.
    assert charge(gateway, reference, "charge:tok:day2").status is ChargeStatus.FAILED
    # The succeeded key was charged once, however often it was retried.
    assert [c.idempotency_key for c in gateway.charges] == ["charge:tok:day1"]


def test_retrying_gets_card_0119_through_with_one_key_and_backoff() -> None:
    gateway = acquirer()
    reference = enrol(gateway, "4000000000000119")
    waits = Sleeps()
    seen_keys: list[str] = []

    def call(*, idempotency_key: str) -> ChargeResult:
        seen_keys.append(idempotency_key)
        return charge(gateway, reference, idempotency_key)

    result = retrying(call, idempotency_key="charge:tok:day1", attempts=3, backoff=0.5, sleep=waits)
    assert result.status is ChargeStatus.SUCCEEDED
    assert seen_keys == ["charge:tok:day1"] * 3
    assert waits.calls == [0.5, 1.0]
    assert len(gateway.charges) == 1


def test_retrying_gives_up_with_the_transient_failure() -> None:
    gateway = acquirer()
    bound = partial(
        gateway.charge,
        reference=enrol(gateway, "4000000000000119"),
        amount_minor=500,
        currency="EUR",
        description="d",
    )
    result = retrying(bound, idempotency_key="k", attempts=2, backoff=1, sleep=Sleeps())
    assert result.status is ChargeStatus.FAILED
    assert gateway.charges == ()


def test_retrying_does_not_retry_a_decline() -> None:
    gateway = acquirer()
    calls = 0

    def call(*, idempotency_key: str) -> ChargeResult:
        nonlocal calls
        calls += 1
        return charge(gateway, enrol(gateway, "4000000000000002"), idempotency_key)

    assert retrying(call, idempotency_key="k", sleep=Sleeps()).status is ChargeStatus.DECLINED
    assert calls == 1


def test_retrying_retries_timeouts_then_reraises() -> None:
    waits = Sleeps()
    keys: list[str] = []

    def call(*, idempotency_key: str) -> ChargeResult:
        keys.append(idempotency_key)
        raise TimeoutError("no answer")

    with pytest.raises(TimeoutError):
        retrying(call, idempotency_key="k", attempts=4, backoff=10, max_backoff=25, sleep=waits)
    assert keys == ["k"] * 4
    assert waits.calls == [10, 20, 25]


def test_card_0259_answers_after_two_seconds() -> None:
    sleeps = Sleeps()
    gateway = acquirer(sleeps)
    result = charge(gateway, enrol(gateway, "4000000000000259"), "k")
    assert result.status is ChargeStatus.SUCCEEDED
    assert sleeps.calls == [2.0]


def test_the_same_key_returns_the_same_result_and_charges_once() -> None:
    gateway = acquirer()
    reference = enrol(gateway, "4970101234567890")
    first = charge(gateway, reference, "charge:tok:2026-11-26")
    again = charge(gateway, reference, "charge:tok:2026-11-26")
    assert again == first
    assert len(gateway.charges) == 1


def test_the_same_key_for_another_amount_is_a_conflict() -> None:
    gateway = acquirer()
    reference = enrol(gateway, "4970101234567890")
    charge(gateway, reference, "k", amount=880)
    with pytest.raises(IdempotencyConflict):
        charge(gateway, reference, "k", amount=900)


def test_state_survives_a_restart_from_its_records() -> None:
    gateway = acquirer()
    reference = enrol(gateway, "4000000000000119")
    charge(gateway, reference, "flaky")  # first failure
    approved = charge(gateway, enrol(gateway, "4970101234567890"), "ok")
    restored = acquirer(charges=gateway.charges, refunds=gateway.refunds, attempts=gateway.attempts)
    assert charge(restored, reference, "flaky").status is ChargeStatus.FAILED  # second failure
    assert charge(restored, reference, "flaky").status is ChargeStatus.SUCCEEDED
    assert charge(restored, approved_reference(approved, gateway), "ok") == approved


def approved_reference(result: ChargeResult, gateway: SimulatedAcquirer) -> str:
    return next(c.reference for c in gateway.charges if c.processor_id == result.processor_id)


@given(st.integers(1, 10**9), st.integers(0, 1_000), st.integers(0, 1_000))
def test_fee_is_the_percentage_rounded_half_up_plus_the_fixed_fee(
    amount: int, basis_points: int, fixed: int
) -> None:
    # Half up, computed independently with exact fractions.
    expected = math.floor(Fraction(amount * basis_points, 10_000) + Fraction(1, 2)) + fixed
    assert FeeSchedule(basis_points=basis_points, fixed_minor=fixed).fee_for(amount) == expected


@pytest.mark.parametrize(
    ("amount", "fee"), [(880, 7), (250, 6), (249, 5), (1, 5), (10_000, 25), (123_456, 252)]
)
def test_default_fee_examples(amount: int, fee: int) -> None:
    assert FeeSchedule().fee_for(amount) == fee


def test_refunds() -> None:
    gateway = acquirer()
    paid = charge(gateway, enrol(gateway, "4970101234567890"), "k", amount=880)
    assert paid.processor_id is not None
    partial_refund = gateway.refund(
        charge_id=paid.processor_id, amount_minor=130, idempotency_key="r1"
    )
    assert partial_refund.status is RefundStatus.SUCCEEDED
    assert gateway.refund(charge_id=paid.processor_id, amount_minor=130, idempotency_key="r1") == (
        partial_refund
    )
    too_much = gateway.refund(charge_id=paid.processor_id, amount_minor=751, idempotency_key="r2")
    assert too_much.status is RefundStatus.REJECTED
    assert gateway.refund(charge_id="sim_ch_nope", amount_minor=1, idempotency_key="r3").status == (
        "rejected"
    )
    declined = charge(gateway, enrol(gateway, "4000000000000002"), "d")
    assert declined.processor_id is not None
    refused = gateway.refund(charge_id=declined.processor_id, amount_minor=1, idempotency_key="r4")
    assert refused.status is RefundStatus.REJECTED
    assert len(gateway.refunds) == 1


def test_settlement_file_pays_net_amounts_two_business_days_later() -> None:
    friday = datetime(2026, 11, 27, 4, 35, tzinfo=UTC)
    thursday_gateway = acquirer(when=THURSDAY)
    friday_gateway = acquirer(when=friday)
    card = "4970101234567890"
    a = charge(thursday_gateway, enrol(thursday_gateway, card), "a", amount=880)
    b = charge(thursday_gateway, enrol(thursday_gateway, card), "b", amount=250)
    charge(thursday_gateway, enrol(thursday_gateway, "4000000000000002"), "declined")
    c = charge(friday_gateway, enrol(friday_gateway, card), "c", amount=1_000)
    assert a.processor_id is not None
    thursday_gateway.refund(charge_id=a.processor_id, amount_minor=130, idempotency_key="r")

    records = settlement_file(
        [*thursday_gateway.charges, *friday_gateway.charges], thursday_gateway.refunds
    )
    by_id = {r.processor_id: r for r in records}
    assert all(r.net_minor == r.amount_minor - r.fee_minor for r in records)
    assert "declined" not in {r.idempotency_key for r in records}

    record_a = by_id[a.processor_id]
    assert (record_a.amount_minor, record_a.fee_minor, record_a.net_minor) == (880, 7, 873)
    assert record_a.payout_date == date(2026, 11, 30)  # Thursday -> Monday
    assert record_a.payout_id == "sim_po_20261130_eur"
    assert c.processor_id is not None
    assert by_id[c.processor_id].payout_date == date(2026, 12, 1)  # Friday -> Tuesday

    monday_payout = by_id["sim_po_20261130_eur"]
    assert monday_payout.kind is ProcessorRecordKind.PAYOUT
    # 873 + 244 (250 - 6) - 130 (the refund carries no fee) = 987
    assert monday_payout.amount_minor == -987
    paid_in_it = [
        r for r in records if r.payout_id == "sim_po_20261130_eur" and r is not monday_payout
    ]
    assert -monday_payout.amount_minor == sum(r.net_minor for r in paid_in_it)
    assert b.processor_id in {r.processor_id for r in paid_in_it}


def test_settlement_file_is_a_pure_function_of_the_records() -> None:
    gateway = acquirer()
    reference = enrol(gateway, "4970101234567890")
    for key in ("x", "y", "z"):
        charge(gateway, reference, key)
    once = settlement_file(gateway.charges)
    assert settlement_file(reversed(gateway.charges)) == once
    restored = acquirer(charges=gateway.charges)
    assert restored.settlement_records(date(2026, 11, 1), date(2026, 12, 31)) == once


def test_holidays_push_the_payout_back() -> None:
    gateway = acquirer(holidays=[date(2026, 11, 30)])
    result = charge(gateway, enrol(gateway, "4970101234567890"), "k")
    records = gateway.settlement_records(date(2026, 11, 26), date(2026, 11, 26))
    assert [r.payout_date for r in records if r.processor_id == result.processor_id] == [
        date(2026, 12, 1)
    ]


def test_settlement_records_are_selected_by_creation_day() -> None:
    gateway = acquirer()
    charge(gateway, enrol(gateway, "4970101234567890"), "k")
    assert gateway.settlement_records(date(2026, 11, 27), date(2026, 11, 29)) == []
    kinds = [r.kind for r in gateway.settlement_records(date(2026, 11, 26), date(2026, 11, 30))]
    assert kinds == ["charge", "payout"]


def test_card_for_enrolment_never_shows_the_number() -> None:
    card = CardForEnrolment.from_pan(
        "4000000000000119", card_token="tok", exp_month=1, exp_year=2030, cvc="123"
    )
    assert "4000000000000119" not in repr(card)
    assert "123" not in repr(card).replace("card_token='tok'", "")
    assert (card.bin, card.last4) == ("400000", "0119")
