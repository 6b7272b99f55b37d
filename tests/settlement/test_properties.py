"""Invariants of closing, for any taps (hypothesis): each card-day charged once, closing
again changes nothing, operator shares sum to each charge, the ledger balances."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from settlement import posting
from settlement.closing import close_service_day
from settlement.processor import StoredSimulatedAcquirer
from settlement.store import Charge, ChargeShare
from tests.settlement.network import PARIS, no_sleep
from validators.schema import utc_now
from validators.store import Card, Tap

FIRST_DAY = date(2027, 3, 1)
_days = itertools.count()
RIDES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("tap_in", "divia-tram", {"route_id": "T1", "stop_id": "GARE"}),
    ("tap_in", "divia-bus", {"route_id": "L3", "stop_id": "DARCY"}),
    ("tap_in", "divia-bus", {"route_id": "CO", "stop_id": "TOISON"}),
    ("bike_unlock", "divia-velodi", {"bike_id": "B1", "plan_id": "velodi"}),
    ("bike_return", "divia-velodi", {"bike_id": "B1"}),
    ("parking_entry", "indigo-dijon", {"facility_id": "gare"}),
    ("parking_exit", "indigo-dijon", {"facility_id": "gare"}),
    ("tap_out", "divia-tram", {"route_id": "T1", "stop_id": "FOCH"}),
)
LAST4 = ("1111", "0002", "4444", "0119")

taps_strategy = st.lists(
    st.tuples(
        st.integers(0, len(LAST4) - 1),  # card
        st.integers(0, len(RIDES) - 1),  # what
        st.integers(0, 20 * 60),  # minutes after 05:00
        st.sampled_from(["allow", "allow", "allow", "deny"]),
    ),
    max_size=25,
)


def _store(db: Session, day: date, taps: list[tuple[int, int, int, str]]) -> None:
    now = utc_now()
    for last4 in LAST4:
        token = f"prop-{day}-{last4}"
        db.add(
            Card(
                token=token,
                token_kid="tok-1",
                bin6="400000",
                last4=last4,
                expiry_month=date(2030, 12, 1),
                scheme="visa",
                device_hash=token,
                first_seen_at=now,
            )
        )
    start = datetime(day.year, day.month, day.day, 5, 0, tzinfo=PARIS)
    for card, what, minutes, decision in taps:
        kind, operator, fields = RIDES[what]
        db.add(
            Tap(
                tap_id=str(uuid.uuid4()),
                device_id="prop",
                operator_id=operator,
                kind=kind,
                occurred_at=start + timedelta(minutes=minutes),
                received_at=now,
                service_day=day,
                card_token=None if kind == "bike_return" else f"prop-{day}-{LAST4[card]}",
                status="accepted",
                decision="allow" if kind == "bike_return" else decision,
                **fields,
            )
        )
    db.commit()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(taps=taps_strategy)
def test_closing_any_day_twice_charges_once_and_the_ledger_balances(
    db: Session, app: FastAPI, client: TestClient, taps: list[tuple[int, int, int, str]]
) -> None:
    del client  # started: the app has published its default tariff
    day = FIRST_DAY + timedelta(days=next(_days))
    _store(db, day, taps)

    def close() -> list[tuple[str, int, str]]:
        close_service_day(
            db,
            day=day,
            processor=StoredSimulatedAcquirer(sleep=no_sleep),
            tariffs=app.state.validators,
            actor="property",
            now=utc_now,
            checkpoint=db.commit,
            sleep=no_sleep,
        )
        rows = db.exec(select(Charge).where(Charge.service_day == day).order_by(col(Charge.id)))
        return [(c.card_token, c.amount_minor, c.status) for c in rows]

    first = close()
    assert close() == first
    assert len({token for token, _, _ in first}) == len(first)  # one charge per card-day
    for charge in db.exec(select(Charge).where(Charge.service_day == day)):
        parts = db.exec(select(ChargeShare).where(ChargeShare.charge_id == charge.id)).all()
        assert sum(p.amount_minor for p in parts) == charge.amount_minor
    assert set(posting.trial_balance(db).values()) <= {0}
