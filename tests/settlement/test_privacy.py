"""Retention and riders' rights: what goes when, and what a rider can take or erase."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from settlement import retention
from settlement.processor import StoredSimulatedAcquirer
from settlement.store import Charge, PricedLeg
from tests.settlement.network import APPROVED_PAN, DAY, OTHER_PAN, local, make_network, no_sleep
from tests.validators.rider_helpers import rider_headers
from validators.schema import utc_now
from validators.store import RiderCard, Tap


def closed_day_with_two_cards(db: Session, client: TestClient, app: FastAPI) -> dict[str, str]:
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    network = make_network(db, client, app)
    ana = rider_headers(client, "ana@example.org")
    client.post("/v1/riders/me/cards", json={"card": network.card(APPROVED_PAN)}, headers=ana)
    network.ride("tram-1", APPROVED_PAN, local(8, 0))  # Ana's card: an account holder
    network.ride("tram-1", OTHER_PAN, local(9, 0))  # a card nobody linked
    network.close()
    return ana


def tokens_with_taps(db: Session) -> set[str | None]:
    return set(db.exec(select(Tap.card_token)).all())


def test_anonymous_trips_go_after_seven_days_and_account_holders_stay_a_year(
    db: Session, client: TestClient, app: FastAPI
) -> None:
    closed_day_with_two_cards(db, client, app)
    linked = set(db.exec(select(RiderCard.card_token)).all())
    charges_before = len(db.exec(select(Charge)).all())

    within_window = retention.run(db, today=DAY + timedelta(days=7), now=utc_now())
    assert within_window.taps_deleted == 0

    result = retention.run(db, today=DAY + timedelta(days=8), now=utc_now())

    assert result.taps_deleted == 1 and result.legs_deleted == 1
    assert tokens_with_taps(db) == linked
    assert set(db.exec(select(PricedLeg.card_token)).all()) == linked
    assert len(db.exec(select(Charge)).all()) == charges_before  # financial records stay

    a_year_later = retention.run(db, today=DAY + timedelta(days=366), now=utc_now())
    assert a_year_later.taps_deleted == 1
    assert tokens_with_taps(db) == set()


def test_a_rider_exports_everything_and_erases_the_account(
    db: Session, client: TestClient, app: FastAPI
) -> None:
    ana = closed_day_with_two_cards(db, client, app)

    export = client.get("/v1/riders/me/export", headers=ana)

    assert export.status_code == 200
    body = export.json()
    assert body["account"]["email"] == "ana@example.org"
    assert [c["last4"] for c in body["cards"]] == ["1111"]
    assert [d["service_day"] for d in body["journeys"]] == [DAY.isoformat()]
    assert [c["service_day"] for c in body["charges"]] == [DAY.isoformat()]

    assert client.delete("/v1/riders/me", headers=ana).status_code == 204

    assert db.exec(select(RiderCard)).all() == []
    assert client.get("/v1/riders/me", headers=ana).status_code == 404
    login = client.post(
        "/v1/auth/token", data={"username": "ana@example.org", "password": "a long secret"}
    )
    assert login.status_code == 401
    # Her trips are anonymous now: the 7-day rule applies to them.
    retention.run(db, today=DAY + timedelta(days=8), now=utc_now())
    assert db.exec(select(Tap).where(col(Tap.card_token).is_not(None))).all() == []
