"""A rider sees the journeys of their own cards, every cent explained, and nobody else's."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from settlement.processor import StoredSimulatedAcquirer
from tests.settlement.network import APPROVED_PAN, DAY, OTHER_PAN, local, make_network, no_sleep
from tests.validators.rider_helpers import rider_headers


def test_a_rider_sees_each_leg_and_adjustment_of_their_day(
    db: Session, client: TestClient, app: FastAPI
) -> None:
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    network = make_network(db, client, app)
    ana = rider_headers(client, "ana@example.org")
    linked = client.post(
        "/v1/riders/me/cards", json={"card": network.card(APPROVED_PAN)}, headers=ana
    )
    assert linked.status_code == 200
    network.ride("bus-1", APPROVED_PAN, local(8, 0))
    network.ride("tram-1", APPROVED_PAN, local(8, 30))
    network.ride("tram-1", OTHER_PAN, local(9, 0))  # someone else's ride
    network.close()

    response = client.get(f"/v1/riders/me/journeys?from={DAY}&to={DAY}", headers=ana)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"]) == (DAY.isoformat(), DAY.isoformat())
    [day] = body["days"]
    assert day["card_id"] == linked.json()["card_id"]
    assert [(leg["route_id"], leg["operator_id"]) for leg in day["legs"]] == [
        ("L3", "divia-bus"),
        ("T1", "divia-tram"),
    ]
    assert all(leg["explanation"] for leg in day["legs"])
    # One 1-hour ticket: the tram 30 minutes later is a free transfer.
    assert day["total_minor"] == 130
    lines = [leg["amount_minor"] for leg in day["legs"]] + [
        a["amount_minor"] for a in day["adjustments"]
    ]
    assert sum(lines) == day["total_minor"]
    charges = client.get("/v1/riders/me/charges", headers=ana).json()["charges"]
    assert [c["amount_minor"] for c in charges if c["service_day"] == DAY.isoformat()] == [
        day["total_minor"]
    ]


def test_a_rider_without_cards_sees_nothing_and_bad_ranges_are_422(client: TestClient) -> None:
    bo = rider_headers(client, "bo@example.org")
    assert client.get("/v1/riders/me/journeys", headers=bo).json()["days"] == []
    backwards = client.get("/v1/riders/me/journeys?from=2026-11-27&to=2026-11-26", headers=bo)
    assert backwards.status_code == 422 and backwards.json()["error"] == "invalid_range"
    too_long = client.get("/v1/riders/me/journeys?from=2024-01-01&to=2026-11-26", headers=bo)
    assert too_long.status_code == 422
