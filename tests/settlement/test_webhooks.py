"""`POST /v1/webhooks/stripe`: signed payloads as Stripe signs them, stored once,
processed idempotently."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from settlement.gateway import (
    ChargeResult,
    ChargeStatus,
    Delegating,
    PaymentGateway,
    RefundResult,
    RefundStatus,
)
from settlement.processor import StoredSimulatedAcquirer
from settlement.store import Charge, Debt, LedgerTransaction, WebhookEvent
from tests.settlement.localstripe_server import sign
from tests.settlement.network import (
    APPROVED_PAN,
    DAY,
    OTHER_PAN,
    Network,
    local,
    make_network,
    no_sleep,
)
from validators.store import Card, DenyListEntry

SECRET = "whsec_test_webhooks"
Headers = Callable[[str], dict[str, str]]


class _Answering(Delegating):
    """The simulated acquirer, except that charges stay `processing` (a transient answer
    with an intent id) and refunds `pending`, until a webhook says more."""

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
        return ChargeResult(
            status=ChargeStatus.FAILED,
            idempotency_key=idempotency_key,
            amount_minor=amount_minor,
            currency=currency,
            processor_id=f"pi_{abs(hash(idempotency_key))}",
            message="payment intent is processing",
        )

    def refund(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> RefundResult:
        return RefundResult(
            status=RefundStatus.PENDING,
            idempotency_key=idempotency_key,
            charge_id=charge_id,
            amount_minor=amount_minor,
            refund_id="re_pending_1",
        )


class Slow(StoredSimulatedAcquirer):
    def open(self, session: Session, keys: Sequence[str]) -> PaymentGateway:
        return _Answering(super().open(session, keys))

    def open_refunds(self, session: Session, charge_ids: Sequence[str]) -> PaymentGateway:
        return _Answering(super().open_refunds(session, charge_ids))


@pytest.fixture
def network(db: Session, client: TestClient, app: FastAPI) -> Network:
    app.state.settlement.stripe_webhook_secret = SECRET
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    network = make_network(db, client, app)
    network.ride("bus-1", APPROVED_PAN, local(8, 0))
    network.ride("tram-1", OTHER_PAN, local(9, 0))
    return network


def post(client: TestClient, event: dict[str, Any], secret: str = SECRET) -> Any:
    payload = json.dumps(event).encode()
    return client.post(
        "/v1/webhooks/stripe",
        content=payload,
        headers={
            "Stripe-Signature": sign(payload, secret, int(time.time())),
            "Content-Type": "application/json",
        },
    )


def event(event_id: str, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}


def charge_of(db: Session, last4: str) -> Charge:
    charge, _ = db.exec(
        select(Charge, Card).where(Charge.card_token == Card.token, Card.last4 == last4)
    ).one()
    db.refresh(charge)
    return charge


def test_a_bad_signature_is_refused_and_nothing_is_kept(
    network: Network, db: Session, client: TestClient
) -> None:
    unknown = event("evt_1", "customer.created", {"id": "cus_1"})
    forged = post(client, unknown, secret="whsec_someone_else")
    assert (forged.status_code, forged.json()["error"]) == (400, "invalid_signature")
    unsigned = client.post("/v1/webhooks/stripe", content=json.dumps(unknown).encode())
    assert (unsigned.status_code, unsigned.json()["error"]) == (400, "invalid_signature")
    assert db.exec(select(WebhookEvent)).all() == []


def test_without_a_secret_webhooks_are_unavailable(
    network: Network, client: TestClient, app: FastAPI
) -> None:
    app.state.settlement.stripe_webhook_secret = None
    response = post(client, event("evt_1", "customer.created", {}))
    assert (response.status_code, response.json()["error"]) == (503, "webhooks_not_configured")


def test_unknown_events_are_acknowledged_and_kept_once(
    network: Network, db: Session, client: TestClient
) -> None:
    unknown = event("evt_unknown", "customer.created", {"id": "cus_1"})
    first = post(client, unknown)
    again = post(client, unknown)

    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert first.json()["outcome"] == "not handled"
    [stored] = db.exec(select(WebhookEvent)).all()
    assert (stored.event_id, stored.type) == ("evt_unknown", "customer.created")
    assert stored.payload["data"]["object"]["id"] == "cus_1"


def test_payment_outcomes_settle_charges_left_processing(
    network: Network, db: Session, client: TestClient
) -> None:
    network.close(processor=Slow(sleep=no_sleep))
    paid, declined = charge_of(db, "1111"), charge_of(db, "4444")
    assert (paid.status, declined.status) == ("failed", "failed")

    succeeded = event(
        "evt_ok",
        "payment_intent.succeeded",
        {"id": "pi_ok", "metadata": {"idempotency_key": paid.idempotency_key}},
    )
    failed = event(
        "evt_ko",
        "payment_intent.payment_failed",
        {
            "id": "pi_ko",
            "metadata": {"idempotency_key": declined.idempotency_key},
            "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"},
        },
    )
    assert post(client, succeeded).json()["outcome"] == f"charge {paid.id} paid"
    assert post(client, failed).json()["outcome"] == f"charge {declined.id} declined"
    transactions = len(db.exec(select(LedgerTransaction)).all())
    for again in (succeeded, failed):  # delivered twice: nothing more happens
        assert post(client, again).json()["duplicate"] is True
    assert post(client, {**succeeded, "id": "evt_ok_2"}).json()["outcome"].endswith("already paid")

    paid, declined = charge_of(db, "1111"), charge_of(db, "4444")
    assert (paid.status, paid.processor_id) == ("paid", "pi_ok")
    assert (declined.status, declined.decline_code) == ("declined", "insufficient_funds")
    assert len(db.exec(select(LedgerTransaction)).all()) == transactions == 2
    assert [d.charge_id for d in db.exec(select(Debt)).all()] == [declined.id]
    assert db.get(DenyListEntry, declined.card_token) is not None


def test_a_pending_refund_is_confirmed_by_charge_refunded(
    network: Network, db: Session, client: TestClient, app: FastAPI, auth_headers: Headers
) -> None:
    network.close()
    charge = charge_of(db, "1111")
    app.state.settlement.override = Slow(sleep=no_sleep)
    finance = auth_headers("finance")
    asked = client.post(
        f"/v1/finance/charges/{charge.id}/refunds",
        json={"amount_minor": 50, "reason": "double tap charged"},
        headers={**finance, "Idempotency-Key": "r-pending"},
    )
    assert asked.json()["status"] == "pending", asked.text

    refunded = event(
        "evt_refunded",
        "charge.refunded",
        {
            "id": "ch_1",
            "payment_intent": charge.processor_id,
            "amount_refunded": 50,
            "refunds": {"data": [{"id": "re_pending_1", "status": "succeeded", "metadata": {}}]},
        },
    )
    response = post(client, refunded)

    assert response.json()["outcome"].endswith("succeeded"), response.text
    balances = client.get("/v1/finance/ledger/balances", headers=finance).json()
    assert balances["balances"]["EUR"]["refunds"] == 0  # granted, then paid out
    assert balances["trial_balance"] == {"EUR": 0}


@pytest.mark.parametrize(("result", "status"), [("won", "paid"), ("lost", "charged_back")])
def test_disputes(
    network: Network,
    db: Session,
    client: TestClient,
    auth_headers: Headers,
    result: str,
    status: str,
) -> None:
    network.close()
    charge = charge_of(db, "1111")
    dispute = {"id": "dp_1", "charge": "ch_1", "payment_intent": charge.processor_id}
    opened = post(client, event("evt_d1", "charge.dispute.created", {**dispute, "amount": 130}))
    assert opened.json()["outcome"] == f"charge {charge.id} disputed"
    finance = auth_headers("finance")
    blocked = client.post(
        f"/v1/finance/charges/{charge.id}/refunds",
        json={"amount_minor": 10, "reason": "goodwill"},
        headers={**finance, "Idempotency-Key": "r-while-disputed"},
    )
    assert blocked.status_code == 409

    closed = {**dispute, "amount": 130, "status": result}
    post(client, event("evt_d2", "charge.dispute.closed", closed))

    assert charge_of(db, "1111").status == status
    statement = client.get(f"/v1/finance/service-days/{DAY}/statements", headers=finance).json()
    assert statement["refunded_minor"] == (130 if result == "lost" else 0)


def test_a_pending_refund_the_bank_refuses_is_reversed_in_the_ledger(
    network: Network, db: Session, client: TestClient, app: FastAPI, auth_headers: Headers
) -> None:
    network.close()
    charge = charge_of(db, "1111")
    finance = auth_headers("finance")
    before = client.get("/v1/finance/ledger/balances", headers=finance).json()["balances"]
    app.state.settlement.override = Slow(sleep=no_sleep)
    asked = client.post(
        f"/v1/finance/charges/{charge.id}/refunds",
        json={"amount_minor": 50, "reason": "double tap charged"},
        headers={**finance, "Idempotency-Key": "r-refused"},
    )
    assert asked.json()["status"] == "pending", asked.text
    assert charge_of(db, "1111").status == "partially_refunded"
    refused = event(
        "evt_refund_failed",
        "refund.updated",
        {"id": "re_pending_1", "status": "failed", "metadata": {}},
    )

    response = post(client, refused)

    assert response.json()["outcome"].endswith("failed at the processor"), response.text
    assert charge_of(db, "1111").status == "paid"
    after = client.get("/v1/finance/ledger/balances", headers=finance).json()
    # Every account is back where it stood before the refund was granted.
    assert nonzero(after["balances"]) == nonzero(before)
    assert after["trial_balance"] == {"EUR": 0}
    kinds = [t.kind for t in db.exec(select(LedgerTransaction)).all()]
    assert kinds.count("refund") == 1 and kinds.count("refund_reversed") == 1
    # The amount is free again: the whole charge can still be refunded.
    again = client.post(
        f"/v1/finance/charges/{charge.id}/refunds",
        json={"amount_minor": charge.amount_minor, "reason": "goodwill"},
        headers={**finance, "Idempotency-Key": "r-after-refusal"},
    )
    assert again.status_code == 201, again.text
    # The same event delivered twice changes nothing more.
    post(client, refused)
    assert [t.kind for t in db.exec(select(LedgerTransaction)).all()].count("refund_reversed") == 1


def nonzero(balances: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {c: {a: v for a, v in accounts.items() if v} for c, accounts in balances.items()}
