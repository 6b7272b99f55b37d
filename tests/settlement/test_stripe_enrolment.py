"""The Stripe path end to end: taps over HTTP, enrolment, a close charging through a real
localstripe, refunds through it, and no card number stored anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from settlement.store import CardGatewayRef, Charge, Debt, EnrolmentDecline
from tests.settlement.localstripe_server import API_KEY, get
from tests.settlement.network import DAY, Network, local, make_network
from ticketing.app import create_app
from ticketing.db import SessionFactory
from ticketing.settings import Gateway, Settings
from validators.store import Card, DenyListEntry, PendingEnrolment

Headers = Callable[[str], dict[str, str]]

APPROVED = "4242424242424242"
DECLINED_AT_ATTACH = "4000000000000002"
DECLINED_WHEN_CHARGED = "4000000000000341"
PANS = (APPROVED, DECLINED_AT_ATTACH, DECLINED_WHEN_CHARGED)


@pytest.fixture
def app(
    settings: Settings, engine: Engine, session_factory: SessionFactory, localstripe: str
) -> FastAPI:
    stripe_settings = settings.model_copy(
        update={
            "payment_gateway": Gateway.stripe,
            "stripe_api_key": SecretStr(API_KEY),
            "stripe_api_base": localstripe,
        }
    )
    return create_app(stripe_settings, engine=engine, session_factory=session_factory)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def network(db: Session, client: TestClient, app: FastAPI) -> Network:
    return make_network(db, client, app)


def by_last4(db: Session) -> dict[str, Charge]:
    return {
        card.last4: charge
        for charge, card in db.exec(select(Charge, Card).where(Charge.card_token == Card.token))
    }


def customers(localstripe: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = get(localstripe, "/v1/customers?limit=100")["data"]
    return found


def close(client: TestClient, headers: dict[str, str], day: str) -> dict[str, Any]:
    response = client.post(f"/v1/finance/service-days/{day}/close", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_day_charged_through_localstripe_with_cards_enrolled_once(
    network: Network, db: Session, client: TestClient, auth_headers: Headers, localstripe: str
) -> None:
    for minute, pan in enumerate(PANS):
        network.ride("bus-1", pan, local(8, minute))
        network.ride("tram-1", pan, local(12, minute))  # a second tap of the same card

    # Intake never called Stripe: the envelopes wait, still sealed, one per card.
    assert customers(localstripe) == []
    waiting = db.exec(select(PendingEnrolment)).all()
    assert len(waiting) == 3
    assert all(row.sealed and row.kid for row in waiting)

    result = close(client, auth_headers("finance"), DAY.isoformat())

    assert (result["cards"], result["paid"], result["declined"]) == (3, 1, 2)
    assert result["not_enrolled"] == 0
    assert db.exec(select(PendingEnrolment)).all() == []
    charges = by_last4(db)
    paid = charges["4242"]
    assert paid.status == "paid" and paid.processor_id is not None
    intent = get(localstripe, f"/v1/payment_intents/{paid.processor_id}")
    assert (intent["status"], intent["amount"]) == ("succeeded", paid.amount_minor)
    assert intent["metadata"]["idempotency_key"] == paid.idempotency_key
    assert (charges["0002"].status, charges["0341"].status) == ("declined", "declined")
    assert charges["0002"].processor_id is None  # refused at enrolment: never charged
    declined_tokens = {charges["0002"].card_token, charges["0341"].card_token}
    assert {d.card_token for d in db.exec(select(Debt)).all()} == declined_tokens
    assert {e.card_token for e in db.exec(select(DenyListEntry)).all()} == declined_tokens
    assert [d.card_token for d in db.exec(select(EnrolmentDecline)).all()] == [
        charges["0002"].card_token
    ]
    refs = db.exec(select(CardGatewayRef)).all()
    assert {r.card_token for r in refs} == {paid.card_token, charges["0341"].card_token}
    # Each card reached Stripe once: one customer per card token.
    tokens = [c["metadata"]["card_token"] for c in customers(localstripe)]
    assert sorted(tokens) == sorted(c.card_token for c in charges.values())

    # The next day, the enrolled card is charged without being sent again.
    next_day = DAY + timedelta(days=1)
    network.ride("bus-1", APPROVED, local(8, 0, day=next_day))
    assert db.exec(select(PendingEnrolment)).all() == []
    again = close(client, auth_headers("finance"), next_day.isoformat())
    assert (again["paid"], again["declined"]) == (1, 0)
    assert len(customers(localstripe)) == 3


def test_a_refund_goes_through_stripe(
    network: Network, db: Session, client: TestClient, auth_headers: Headers, localstripe: str
) -> None:
    network.ride("bus-1", APPROVED, local(8, 0))
    finance = auth_headers("finance")
    close(client, finance, DAY.isoformat())
    charge = by_last4(db)["4242"]

    response = client.post(
        f"/v1/finance/charges/{charge.id}/refunds",
        json={"amount_minor": 50, "reason": "validator fault at Darcy"},
        headers={**finance, "Idempotency-Key": "refund-stripe-1"},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["status"], body["charge_status"]) == ("succeeded", "partially_refunded")
    refund = get(localstripe, f"/v1/refunds/{body['processor_refund_id']}")
    assert refund["amount"] == 50
    assert refund["metadata"]["idempotency_key"].startswith("refund:")
    replay = client.post(
        f"/v1/finance/charges/{charge.id}/refunds",
        json={"amount_minor": 50, "reason": "validator fault at Darcy"},
        headers={**finance, "Idempotency-Key": "refund-stripe-1"},
    )
    assert replay.json() == body
    assert len(get(localstripe, "/v1/refunds")["data"]) == 1


def test_no_card_number_is_stored_anywhere(
    network: Network, db: Session, client: TestClient, auth_headers: Headers
) -> None:
    for minute, pan in enumerate(PANS):
        network.ride("tram-1", pan, local(9, minute))
    close(client, auth_headers("finance"), DAY.isoformat())

    found: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        for row in db.execute(sa.select(table)):
            text = repr(tuple(row))
            found.extend(f"{table.name}: {pan[-4:]}" for pan in PANS if pan in text)
    assert found == []
