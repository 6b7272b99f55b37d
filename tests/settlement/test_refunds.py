"""Finance refunds a charge, in part or whole, through the simulated acquirer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from settlement.processor import StoredSimulatedAcquirer
from settlement.store import Charge, SimulatedAcquirerRefund
from tests.settlement.network import (
    APPROVED_PAN,
    DAY,
    DECLINED_PAN,
    Network,
    local,
    make_network,
    no_sleep,
)
from tests.validators.rider_helpers import rider_headers
from validators.store import Card

Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def network(db: Session, client: TestClient, app: FastAPI) -> Network:
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    network = make_network(db, client, app)
    network.ride_a_morning()
    network.ride("tram-1", DECLINED_PAN, local(9, 0))
    network.close()
    return network


def charge_of(db: Session, last4: str) -> Charge:
    charge, _ = db.exec(
        select(Charge, Card).where(Charge.card_token == Card.token, Card.last4 == last4)
    ).one()
    return charge


def refund(
    client: TestClient,
    headers: dict[str, str],
    charge_id: int | None,
    amount: int,
    key: str | None,
    reason: str = "validator fault",
) -> Any:
    extra = {"Idempotency-Key": key} if key is not None else {}
    return client.post(
        f"/v1/finance/charges/{charge_id}/refunds",
        json={"amount_minor": amount, "reason": reason},
        headers={**headers, **extra},
    )


def test_a_partial_then_a_full_refund(
    network: Network, db: Session, client: TestClient, auth_headers: Headers
) -> None:
    finance = auth_headers("finance")
    charge = charge_of(db, "1111")
    assert (charge.status, charge.amount_minor) == ("paid", 530)

    first = refund(client, finance, charge.id, 100, "r-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "succeeded"
    assert (body["charge_status"], body["refunded_minor"], body["refundable_minor"]) == (
        "partially_refunded",
        100,
        430,
    )
    assert body["requested_by"].startswith("finance")

    rest = refund(client, finance, charge.id, 430, "r-2")
    assert rest.status_code == 201, rest.text
    assert (rest.json()["charge_status"], rest.json()["refundable_minor"]) == ("refunded", 0)

    too_much = refund(client, finance, charge.id, 1, "r-3")
    assert too_much.status_code == 409
    assert too_much.json()["error"] == "charge_not_refundable"

    balances = client.get("/v1/finance/ledger/balances", headers=finance).json()
    assert balances["trial_balance"] == {"EUR": 0}
    accounts = balances["balances"]["EUR"]
    assert accounts["refunds"] == 0  # granted and paid out by the acquirer
    assert accounts.get("operator_payable:divia-velodi", 0) == 0  # its 400 given back


def test_the_same_key_replays_and_moves_money_once(
    network: Network, db: Session, client: TestClient, auth_headers: Headers
) -> None:
    finance = auth_headers("finance")
    charge = charge_of(db, "1111")
    first = refund(client, finance, charge.id, 130, "same-key")
    again = refund(client, finance, charge.id, 130, "same-key")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert len(db.exec(select(SimulatedAcquirerRefund)).all()) == 1
    other = refund(client, finance, charge.id, 131, "same-key")
    assert (other.status_code, other.json()["error"]) == (409, "idempotency_key_reused")


@pytest.mark.parametrize(
    ("last4", "amount", "key", "status", "error"),
    [
        ("1111", 100, None, 400, "idempotency_key_required"),
        ("1111", 531, "k", 409, "refund_exceeds_refundable"),
        ("1111", 0, "k", 422, "validation_error"),
        ("0002", 50, "k", 409, "charge_not_refundable"),
    ],
)
def test_refunds_that_are_refused(
    network: Network,
    db: Session,
    client: TestClient,
    auth_headers: Headers,
    last4: str,
    amount: int,
    key: str | None,
    status: int,
    error: str,
) -> None:
    response = refund(client, auth_headers("finance"), charge_of(db, last4).id, amount, key)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert isinstance(response.json()["detail"], str)


def test_a_reason_is_required_and_the_charge_must_exist(
    network: Network, db: Session, client: TestClient, auth_headers: Headers
) -> None:
    finance = auth_headers("finance")
    no_reason = refund(client, finance, charge_of(db, "1111").id, 10, "k", reason="")
    assert no_reason.status_code == 422
    unknown = refund(client, finance, 999_999, 10, "k")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "charge_not_found")
    rider = refund(client, auth_headers("rider"), charge_of(db, "1111").id, 10, "k")
    assert rider.status_code == 403


def test_riders_and_statements_see_refunds(
    network: Network, db: Session, client: TestClient, auth_headers: Headers
) -> None:
    finance = auth_headers("finance")
    ana = rider_headers(client, "ana@example.org")
    linked = client.post(
        "/v1/riders/me/cards", json={"card": network.card(APPROVED_PAN)}, headers=ana
    )
    assert linked.status_code == 200, linked.text
    charge = charge_of(db, "1111")
    assert refund(client, finance, charge.id, 130, "r-1").status_code == 201

    [seen] = client.get("/v1/riders/me/charges", headers=ana).json()["charges"]
    assert (seen["charge_id"], seen["status"], seen["refunded_minor"]) == (
        charge.id,
        "partially_refunded",
        130,
    )

    statement = client.get(f"/v1/finance/service-days/{DAY}/statements", headers=finance).json()
    assert statement["refunded_minor"] == 130
    operators = {o["operator_id"]: o for o in statement["operators"]}
    assert sum(o["refunds_minor"] for o in operators.values()) == 130
    assert sum(o["amount_minor"] for o in operators.values()) == statement["charged_minor"] - 130
    for line in operators.values():
        assert line["amount_minor"] == (
            line["revenue_minor"] + line["adjustments_minor"] - line["refunds_minor"]
        )
