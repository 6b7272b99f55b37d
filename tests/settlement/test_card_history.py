"""A card's last 7 days, looked up by presenting the card alone, within a rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from settlement.processor import StoredSimulatedAcquirer
from tests.settlement.network import APPROVED_PAN, OTHER_PAN, make_network, no_sleep
from validators.schema import utc_now


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_presenting_a_card_shows_its_week_and_nothing_of_other_cards(
    db: Session, client: TestClient, app: FastAPI
) -> None:
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    network = make_network(db, client, app)
    yesterday = (utc_now() - timedelta(days=1)).replace(hour=9, minute=0)
    network.ride("tram-1", APPROVED_PAN, yesterday)
    network.ride("tram-1", OTHER_PAN, yesterday + timedelta(minutes=5))
    network.close(yesterday.date())

    response = client.post("/v1/cards/history", json={"card": network.card(APPROVED_PAN)})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["card"] == {"scheme": "visa", "last4": "1111"}
    assert [d["service_day"] for d in body["journeys"]] == [yesterday.date().isoformat()]
    assert [leg["route_id"] for leg in body["journeys"][0]["legs"]] == ["T1"]
    assert [c["amount_minor"] for c in body["charges"]] == [130]
    assert "4111111111111111" not in response.text


def test_lookups_are_rate_limited_per_client(client: TestClient) -> None:
    garbage = {"card": {"kid": "none", "sealed": "AAAA"}}
    answers = [client.post("/v1/cards/history", json=garbage) for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [422] * 10
    assert answers[10].status_code == 429
    assert answers[10].json()["error"] == "rate_limited"
    assert int(answers[10].headers["retry-after"]) <= 60
