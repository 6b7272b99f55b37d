"""Closing a day with real taps posted by test devices over HTTP (DESIGN §2 steps 2-3)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from settlement import posting
from settlement.gateway import ChargeResult, PaymentGateway
from settlement.processor import StoredSimulatedAcquirer
from settlement.store import (
    Charge,
    ChargeShare,
    Debt,
    LedgerTransaction,
    PricedLeg,
    SimulatedAcquirerCharge,
)
from tests.settlement.network import (
    APPROVED_PAN,
    DAY,
    DECLINED_PAN,
    FLAKY_PAN,
    OTHER_PAN,
    Network,
    local,
    make_network,
    no_sleep,
)
from validators.store import DenyListEntry, ServiceDay


@pytest.fixture
def network(db: Session, client: TestClient, app: FastAPI) -> Network:
    return make_network(db, client, app)


def busy_day(network: Network) -> None:
    """Bus + tram within the hour, more rides past the daily cap, a bike rental, a car
    park stay; a declined card; a card that only parks and never leaves."""
    ride = network.ride
    ride("bus-1", APPROVED_PAN, local(8, 0))
    ride("tram-1", APPROVED_PAN, local(8, 20))  # within the hour: free
    ride("dock-1", APPROVED_PAN, local(10, 0), kind="bike_unlock", bike_id="B7", plan_id="velodi")
    ride("dock-1", None, local(11, 5), kind="bike_return", bike_id="B7")  # 65 min: 4.00
    ride("bus-1", APPROVED_PAN, local(12, 0))
    ride("gate-1", APPROVED_PAN, local(13, 0), kind="parking_entry")
    ride("gate-1", APPROVED_PAN, local(14, 0), kind="parking_exit")  # 1 h at gare: 2.40
    ride("tram-1", APPROVED_PAN, local(17, 0))
    ride("bus-1", APPROVED_PAN, local(19, 0))  # transit capped at 3.90
    ride("tram-1", DECLINED_PAN, local(9, 0))
    ride("gate-1", OTHER_PAN, local(21, 0), kind="parking_entry")  # never leaves


def charges(db: Session) -> dict[str, Charge]:
    from validators.store import Card

    found = {}
    for charge, card in db.exec(
        select(Charge, Card).where(Charge.card_token == Card.token).order_by(col(Charge.id))
    ):
        found[card.last4] = charge
    return found


def test_a_day_is_charged_once_per_card_with_caps_transfers_bike_and_parking(
    network: Network, db: Session
) -> None:
    busy_day(network)
    result = network.close()

    assert (result.cards, result.paid, result.declined) == (3, 2, 1)
    by_card = charges(db)
    assert by_card["1111"].amount_minor == 390 + 400 + 240
    assert by_card["1111"].status == "paid"
    assert by_card["0002"].amount_minor == 130
    assert by_card["0002"].status == "declined"
    # An entry without an exit is charged until the day ends at 04:30: 21:00-23:00 at
    # 2.40/h, then 5.5 h at the night rate of 0.80/h.
    assert by_card["4444"].amount_minor == 480 + 440
    assert by_card["1111"].idempotency_key == f"charge:{by_card['1111'].card_token}:{DAY}"
    assert db.get(ServiceDay, DAY).status == "closed"  # type: ignore[union-attr]
    legs = db.exec(select(PricedLeg).where(PricedLeg.card_token == by_card["1111"].card_token))
    assert [leg.kind for leg in legs] == [
        "transit",
        "transit",
        "bike",
        "transit",
        "parking",
        "transit",
        "transit",
    ]


def test_operator_shares_sum_to_each_charge(network: Network, db: Session) -> None:
    busy_day(network)
    network.close()
    for charge in charges(db).values():
        parts = db.exec(select(ChargeShare).where(ChargeShare.charge_id == charge.id)).all()
        assert sum(p.amount_minor for p in parts) == charge.amount_minor
    assert set(posting.trial_balance(db).values()) == {0}


def test_a_declined_card_goes_on_the_deny_list_with_a_debt_and_is_refused_next(
    network: Network, db: Session
) -> None:
    busy_day(network)
    network.close()
    declined = charges(db)["0002"]
    assert db.get(DenyListEntry, declined.card_token) is not None
    debt = db.exec(select(Debt).where(Debt.card_token == declined.card_token)).one()
    assert (debt.amount_minor, debt.status) == (130, "open")

    answer = network.ride("tram-1", DECLINED_PAN, local(8, 0, date(2026, 11, 27)))
    assert (answer["status"], answer["decision"], answer["reason"]) == (
        "accepted",
        "deny",
        "deny_list",
    )


def test_closing_again_changes_nothing(network: Network, db: Session) -> None:
    busy_day(network)
    first = network.close()
    counts = table_counts(db)
    again = network.close()
    assert again.already_closed and not first.already_closed
    assert again.charged_minor == first.charged_minor
    assert table_counts(db) == counts


def table_counts(db: Session) -> dict[str, int]:
    return {
        model.__name__: db.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()
        for model in (
            Charge,
            ChargeShare,
            PricedLeg,
            LedgerTransaction,
            Debt,
            SimulatedAcquirerCharge,
        )
    }


class Crash(Exception):
    pass


class CrashingGateway:
    def __init__(self, inner: PaymentGateway, calls: list[int], limit: int) -> None:
        self._inner = inner
        self._calls = calls
        self._limit = limit

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def charge(self, **kwargs: object) -> ChargeResult:
        if self._calls[0] >= self._limit:
            raise Crash("the process died here")
        self._calls[0] += 1
        return self._inner.charge(**kwargs)  # type: ignore[arg-type]


class CrashingProcessor(StoredSimulatedAcquirer):
    """The simulated acquirer, but the process 'dies' after `limit` charges."""

    def __init__(self, limit: int) -> None:
        super().__init__(sleep=no_sleep)
        self.calls = [0]
        self.limit = limit

    def open(self, session: Session, keys: Sequence[str]) -> PaymentGateway:
        return CrashingGateway(super().open(session, keys), self.calls, self.limit)  # type: ignore[return-value]


@pytest.mark.parametrize("survivors", [0, 1, 2, 3])
def test_a_crash_after_k_charges_then_a_rerun_charges_every_card_exactly_once(
    network: Network, db: Session, survivors: int
) -> None:
    for hour, pan in enumerate(
        [APPROVED_PAN, OTHER_PAN, DECLINED_PAN, FLAKY_PAN, "4242424242424242"], start=7
    ):
        network.ride("tram-1", pan, local(hour))
    with pytest.raises(Crash):
        network.close(processor=CrashingProcessor(survivors), batch_size=2)
    db.rollback()  # what the dead process had not committed is gone

    result = network.close()

    assert result.cards == 5
    rows = db.exec(select(Charge)).all()
    assert len(rows) == 5
    assert sorted(c.status for c in rows) == ["declined", "paid", "paid", "paid", "paid"]
    at_processor = db.exec(select(SimulatedAcquirerCharge)).all()
    assert sorted(c.idempotency_key for c in at_processor) == sorted(
        c.idempotency_key for c in rows
    )
    keys = db.exec(select(LedgerTransaction.idempotency_key)).all()
    assert len(keys) == len(set(keys)) == 5


def test_a_late_tap_becomes_an_adjustment_of_the_next_close(network: Network, db: Session) -> None:
    network.ride("bus-1", APPROVED_PAN, local(8, 0))
    network.close()
    # Uploaded after the close by an offline validator: a second ride, 3 hours later.
    network.ride("tram-1", APPROVED_PAN, local(11, 0))
    next_day = date(2026, 11, 27)
    network.ride("tram-1", OTHER_PAN, local(9, 0, next_day))
    result = network.close(next_day)

    assert result.late_adjustments == 1
    card_charges = [
        c for c in db.exec(select(Charge).order_by(col(Charge.id))) if c.service_day == DAY
    ]
    assert [(c.kind, c.amount_minor, c.status) for c in card_charges] == [
        ("day", 130, "paid"),
        ("adjustment", 130, "paid"),
    ]
    assert card_charges[1].posted_day == next_day
    current = db.exec(
        select(PricedLeg).where(PricedLeg.service_day == DAY, PricedLeg.superseded == False)  # noqa: E712
    ).all()
    assert len(current) == 2
    assert set(posting.trial_balance(db).values()) == {0}


def test_the_weekly_cap_counts_earlier_closed_days(network: Network, db: Session) -> None:
    # Monday to Thursday: three 1.30 rides a day = 3.90, the daily cap; the weekly cap of
    # 12.00 leaves 0.30 for Thursday.
    monday = date(2026, 11, 23)
    amounts = []
    for offset in range(4):
        day = date.fromordinal(monday.toordinal() + offset)
        for hour in (7, 9, 11):
            network.ride("tram-1", APPROVED_PAN, local(hour, 0, day))
        network.close(day)
        amounts.append(db.exec(select(Charge.amount_minor).where(Charge.service_day == day)).one())
    assert amounts == [390, 390, 390, 30]
