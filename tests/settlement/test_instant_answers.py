"""Charges the simulated acquirer answers while the day is priced (in the transaction
that creates them) are stored exactly as the charge step would store them, and a crash
in that transaction leaves nothing charged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from settlement import posting
from settlement.closing import CloseResult
from settlement.gateway import PaymentGateway
from settlement.ledger import Posting, Transaction, TransactionKind
from settlement.processor import InstantAnswers, StoredSimulatedAcquirer
from settlement.simulated import charge_id_for
from settlement.store import (
    Charge,
    ChargeShare,
    Debt,
    LedgerPosting,
    LedgerTransaction,
    SimulatedAcquirerCharge,
)
from tests.settlement.network import (
    APPROVED_PAN,
    DECLINED_PAN,
    FLAKY_PAN,
    OTHER_PAN,
    Network,
    local,
    make_network,
    no_sleep,
)
from validators.schema import table_of
from validators.store import DenyListEntry

# Two Thursdays in different weeks and months: no cap links them.
INSTANT_DAY = date(2026, 11, 26)
CLASSIC_DAY = date(2026, 12, 3)


@pytest.fixture
def network(db: Session, client: TestClient, app: FastAPI) -> Network:
    return make_network(db, client, app)


class Classic(StoredSimulatedAcquirer):
    """The same acquirer behind its own gateway: every charge asked after the commit."""

    def open(self, session: Session, keys: Sequence[str]) -> PaymentGateway:
        return super().open(session, keys)


def ride_day(network: Network, day: date) -> None:
    for pan, hours in (
        (APPROVED_PAN, (7, 8, 12, 17, 19)),
        (OTHER_PAN, (9,)),
        (DECLINED_PAN, (10,)),
        (FLAKY_PAN, (11,)),
        ("4000000000000077", (13, 14)),  # the test BIN, not a misbehaving card
    ):
        for hour in hours:
            network.ride("bus-1" if hour % 2 else "tram-1", pan, local(hour, 0, day))
    network.ride("gate-1", "4242424242424242", local(21, 0, day), kind="parking_entry")


def stored(db: Session, day: date) -> dict[str, Any]:
    """What a close of `day` stored, with the day written `D` (the same rides on another
    day must give the same rows)."""
    iso = day.isoformat()

    def norm(value: object) -> object:
        return value.replace(iso, "D") if isinstance(value, str) else value

    charges = table_of(Charge)
    rows = db.execute(
        sa.select(charges).where(charges.c.service_day == day).order_by(charges.c.card_token)
    ).all()
    ids = {row.id: row.card_token for row in rows}
    keys = {row.idempotency_key for row in rows}
    ours = [
        (
            row.card_token,
            row.kind,
            row.amount_minor,
            row.status,
            row.attempts,
            row.fee_minor,
            row.decline_code,
            row.notes,
            row.processor_id == charge_id_for(row.idempotency_key),
            row.charged_at is not None,
        )
        for row in rows
    ]
    shares = table_of(ChargeShare)
    split = sorted(
        (ids[row.charge_id], row.operator_id, row.amount_minor, row.standalone_minor, row.legs)
        for row in db.execute(sa.select(shares).where(shares.c.charge_id.in_(list(ids))))
    )
    acquirer = table_of(SimulatedAcquirerCharge)
    theirs = sorted(
        (
            norm(row.idempotency_key),
            row.processor_id == charge_id_for(row.idempotency_key),
            row.reference,
            row.amount_minor,
            row.currency,
            row.status,
            row.fee_minor,
            row.decline_code,
            norm(row.service_day),
        )
        for row in db.execute(sa.select(acquirer).where(acquirer.c.idempotency_key.in_(list(keys))))
    )
    transactions = table_of(LedgerTransaction)
    postings = table_of(LedgerPosting)
    ledger = []
    for tx in db.execute(
        sa.select(transactions).where(transactions.c.idempotency_key.in_(list(keys)))
    ):
        lines = db.execute(
            sa.select(postings.c.account, postings.c.currency, postings.c.amount_minor)
            .where(postings.c.transaction_id == tx.id)
            .order_by(postings.c.id)
        ).all()
        rebuilt = Transaction(
            idempotency_key=tx.idempotency_key,
            kind=TransactionKind(tx.kind),
            currency=tx.currency,
            postings=tuple(Posting(account, amount) for account, _, amount in lines),
            memo=tx.memo,
            corrects=tx.corrects,
            service_day=tx.service_day,
        )
        assert posting.body_hash(rebuilt) == tx.body_hash
        ledger.append(
            (
                norm(tx.idempotency_key),
                tx.kind,
                tx.currency,
                norm(tx.memo),
                tx.corrects,
                tx.service_day == day,
                [tuple(line) for line in lines],
            )
        )
    debts = sorted(
        (row.card_token, row.amount_minor, row.status)
        for row in db.execute(sa.select(table_of(Debt)).where(table_of(Debt).c.service_day == day))
    )
    return {
        "charges": ours,
        "shares": split,
        "acquirer": theirs,
        "ledger": sorted(ledger),
        "debts": debts,
    }


def totals(result: CloseResult) -> tuple[int, ...]:
    return (
        result.cards,
        result.legs,
        result.charged_minor,
        result.paid,
        result.declined,
        result.declined_minor,
        result.failed,
        result.not_enrolled,
    )


def test_answered_while_priced_is_stored_as_the_charge_step_stores_it(
    network: Network, db: Session
) -> None:
    ride_day(network, INSTANT_DAY)
    ride_day(network, CLASSIC_DAY)
    statuses: list[list[str]] = []
    charges = table_of(Charge)

    def priced() -> None:  # the first checkpoint: the pricing transaction committed
        if not statuses:
            statuses.append(
                sorted(
                    db.execute(
                        sa.select(charges.c.status).where(charges.c.service_day == INSTANT_DAY)
                    ).scalars()
                )
            )
        db.commit()

    from settlement.closing import close_service_day

    instant = close_service_day(
        db,
        day=INSTANT_DAY,
        processor=StoredSimulatedAcquirer(sleep=no_sleep),
        tariffs=network.app.state.validators,
        actor="finance@example.org",
        now=lambda: local(23, 0, INSTANT_DAY),
        checkpoint=priced,
        sleep=no_sleep,
    )
    classic = network.close(CLASSIC_DAY, processor=Classic(sleep=no_sleep))

    # Priced and answered at once: the ordinary cards; the declining and the flaky test
    # cards are still pending, and asked by the charge step.
    assert statuses == [["paid", "paid", "paid", "paid", "pending", "pending"]]
    assert totals(instant) == totals(classic)
    assert (instant.paid, instant.declined) == (5, 1)
    assert stored(db, INSTANT_DAY) == stored(db, CLASSIC_DAY)
    assert set(posting.trial_balance(db).values()) == {0}
    declined = db.execute(
        sa.select(charges.c.card_token).where(charges.c.status == "declined")
    ).scalars()
    assert all(db.get(DenyListEntry, token) is not None for token in declined)


class Crash(Exception):
    pass


class _CrashingAnswers:
    def __init__(self, inner: InstantAnswers, limit: int) -> None:
        self.model = inner.model
        self.columns = inner.columns
        self._inner = inner
        self._left = limit

    def charge(
        self, card_token: str, key: str, amount_minor: int, currency: str, service_day: date
    ) -> tuple[str, int, tuple[Any, ...]] | None:
        if self._left == 0:
            raise Crash("the process died here")
        self._left -= 1
        return self._inner.charge(card_token, key, amount_minor, currency, service_day)


class CrashingWhilePriced(StoredSimulatedAcquirer):
    def __init__(self, limit: int) -> None:
        super().__init__(sleep=no_sleep)
        self.limit = limit

    def instant_answers(
        self, session: Session, tokens: Sequence[str], service_day: date
    ) -> InstantAnswers | None:
        inner = super().instant_answers(session, tokens, service_day)
        assert inner is not None
        return _CrashingAnswers(inner, self.limit)


@pytest.mark.parametrize("survivors", [0, 2])
def test_a_crash_while_answering_in_the_pricing_leaves_nothing_and_the_rerun_charges_once(
    network: Network, db: Session, survivors: int
) -> None:
    ride_day(network, INSTANT_DAY)
    with pytest.raises(Crash):
        network.close(INSTANT_DAY, processor=CrashingWhilePriced(survivors))
    db.rollback()
    assert db.execute(sa.select(sa.func.count()).select_from(table_of(Charge))).scalar() == 0
    assert (
        db.execute(
            sa.select(sa.func.count()).select_from(table_of(SimulatedAcquirerCharge))
        ).scalar()
        == 0
    )

    result = network.close(INSTANT_DAY)

    assert (result.cards, result.paid, result.declined) == (6, 5, 1)
    ours = db.execute(
        sa.select(table_of(Charge).c.idempotency_key).where(table_of(Charge).c.amount_minor > 0)
    ).scalars()
    theirs = db.execute(sa.select(table_of(SimulatedAcquirerCharge).c.idempotency_key)).scalars()
    assert sorted(ours) == sorted(theirs)
    keys = db.execute(sa.select(table_of(LedgerTransaction).c.idempotency_key)).scalars().all()
    assert len(keys) == len(set(keys)) == 6
    assert set(posting.trial_balance(db).values()) == {0}


@pytest.mark.parametrize(
    "shares",
    [
        {"divia-tram": 130},
        {"divia-bus": 65, "divia-tram": 65},
        {"indigo-dijon": 920, "divia-bus": 0, "divia-velodi": 400},
        {"op\\with\ttab": 1, 'op"quote': 2, "opé": 3},
    ],
)
def test_captured_charge_rows_are_the_builders(shares: dict[str, int]) -> None:
    from datetime import UTC, datetime

    from settlement.ledger import charge_captured
    from settlement.posting import CapturedCharges, posting_rows_of, transaction_row

    day, now = date(2026, 11, 26), datetime(2026, 11, 27, 4, 30, tzinfo=UTC)
    amount = sum(shares.values())
    built = charge_captured(
        card_token="tok-1:abc", service_day=day, currency="EUR", amount_minor=amount, shares=shares
    )
    row, postings = CapturedCharges(day, now).rows(42, "tok-1:abc", "EUR", amount, shares)
    assert row == transaction_row(42, built, posting.body_hash(built), now)
    assert postings == posting_rows_of(42, built, day)


def test_captured_charge_rows_refuse_what_the_builder_refuses() -> None:
    from datetime import UTC, datetime

    from settlement.errors import UnbalancedTransaction
    from settlement.posting import CapturedCharges

    rows = CapturedCharges(date(2026, 11, 26), datetime(2026, 11, 27, tzinfo=UTC)).rows
    with pytest.raises(UnbalancedTransaction):
        rows(1, "tok", "EUR", 130, {"divia-tram": 100})
    with pytest.raises(UnbalancedTransaction):
        rows(1, "tok", "EUR", 130, {"": 130})
