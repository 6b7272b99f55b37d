"""A rider disputes a leg of a charged day; finance upholds it (a real refund) or rejects
it (a reply); the rider sees the outcome. Nobody sees or touches another rider's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, select

from settlement import disputes, posting, refunds
from settlement.errors import SettlementError
from settlement.gateway import (
    Delegating,
    PaymentGateway,
    RefundResult,
    RefundStatus,
)
from settlement.processor import StoredSimulatedAcquirer
from settlement.store import Charge, Dispute, PricedLeg, Refund
from tests.settlement.network import (
    APPROVED_PAN,
    DAY,
    DECLINED_PAN,
    OTHER_PAN,
    Network,
    local,
    make_network,
    no_sleep,
)
from tests.settlement.test_webhooks import SECRET, Slow, event, post
from tests.validators.rider_helpers import rider_headers
from validators.audit import AuditEntry
from validators.schema import utc_now
from validators.store import CardTokenLink, RiderCard

Headers = Callable[[str], dict[str, str]]
OPEN_DAY = DAY + timedelta(days=1)


@dataclass
class Riders:
    network: Network
    ana: dict[str, str]
    ana_card: str
    bo: dict[str, str]
    bo_card: str


@pytest.fixture
def riders(db: Session, client: TestClient, app: FastAPI) -> Riders:
    """Ana: bus, tram (a free transfer), bike; 5.30 charged and paid. Bo: a declined
    tram. Both days' legs are priced; DAY is closed, OPEN_DAY is not."""
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    network = make_network(db, client, app)
    ana = rider_headers(client, "ana@example.org")
    bo = rider_headers(client, "bo@example.org")
    cards = []
    for headers, pan in ((ana, APPROVED_PAN), (bo, DECLINED_PAN)):
        linked = client.post(
            "/v1/riders/me/cards", json={"card": network.card(pan)}, headers=headers
        )
        assert linked.status_code == 200, linked.text
        cards.append(linked.json()["card_id"])
    network.ride_a_morning()
    network.ride("tram-1", DECLINED_PAN, local(9, 0))
    network.ride("tram-1", OTHER_PAN, local(9, 30))
    network.ride("tram-1", APPROVED_PAN, local(9, 0, day=OPEN_DAY))
    network.close()
    return Riders(network, ana, cards[0], bo, cards[1])


def leg_body(card_id: str, index: int, **extra: Any) -> dict[str, Any]:
    return {
        "card_id": card_id,
        "service_day": DAY.isoformat(),
        "leg_index": index,
        "reason": "wrong_amount",
        "message": "I was charged twice for the same ride.",
        **extra,
    }


def legs_of(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    days = client.get(f"/v1/riders/me/journeys?from={DAY}&to={DAY}", headers=headers).json()
    legs: list[dict[str, Any]] = days["days"][0]["legs"]
    return legs


def bike_index(client: TestClient, riders: Riders) -> int:
    [bike] = [leg for leg in legs_of(client, riders.ana) if leg["kind"] == "bike"]
    index: int = bike["index"]
    return index


def open_on(client: TestClient, headers: dict[str, str], body: dict[str, Any], **h: str) -> Any:
    return client.post("/v1/riders/me/disputes", json=body, headers={**headers, **h})


def resolve(client: TestClient, finance: dict[str, str], dispute_id: int, **body: Any) -> Any:
    return client.post(f"/v1/finance/disputes/{dispute_id}/resolve", json=body, headers=finance)


def payable(balances: dict[str, Any]) -> int:
    accounts: dict[str, int] = balances["balances"]["EUR"]
    return sum(v for k, v in accounts.items() if k.startswith("operator_payable:"))


def test_an_upheld_dispute_refunds_through_the_ledger_and_the_rider_sees_it(
    riders: Riders, client: TestClient, auth_headers: Headers, db: Session
) -> None:
    index = bike_index(client, riders)
    opened = open_on(client, riders.ana, leg_body(riders.ana_card, index))
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert dispute["status"] == "open"
    assert (dispute["leg"]["kind"], dispute["leg"]["amount_minor"]) == ("bike", 400)
    assert dispute["refund_minor"] is None and dispute["reply"] is None
    assert dispute["opened_at"] and dispute["resolved_at"] is None

    finance = auth_headers("finance")
    listed = client.get("/v1/finance/disputes?status=open", headers=finance).json()
    [seen] = listed["disputes"]
    assert seen["dispute_id"] == dispute["dispute_id"]
    assert (seen["card"], seen["charge_amount_minor"], seen["refundable_minor"]) == (
        {"scheme": "visa", "last4": "1111"},
        530,
        530,
    )
    assert seen["message"] == "I was charged twice for the same ride."

    before = client.get("/v1/finance/ledger/balances", headers=finance).json()
    upheld = resolve(
        client,
        finance,
        dispute["dispute_id"],
        outcome="upheld",
        refund_minor=400,
        reply="The dock did not record your return in time; refunded.",
    )
    assert upheld.status_code == 200, upheld.text
    assert upheld.json()["status"] == "upheld"
    assert upheld.json()["refundable_minor"] == 130
    assert upheld.json()["resolved_by"].startswith("finance")

    mine = client.get(f"/v1/riders/me/disputes/{dispute['dispute_id']}", headers=riders.ana)
    assert mine.status_code == 200
    outcome = mine.json()
    assert (outcome["status"], outcome["refund_minor"], outcome["refund_status"]) == (
        "upheld",
        400,
        "succeeded",
    )
    assert outcome["reply"] == "The dock did not record your return in time; refunded."
    assert outcome["resolved_at"] is not None
    charges = client.get("/v1/riders/me/charges", headers=riders.ana).json()["charges"]
    [day_charge] = [c for c in charges if c["service_day"] == DAY.isoformat()]
    assert (day_charge["status"], day_charge["refunded_minor"]) == ("partially_refunded", 400)

    # A real refund: the charge itself is untouched, the ledger balances, and the
    # operators give back the 4.00 between them (pro rata of their shares of the charge).
    charge = db.get(Charge, dispute["charge_id"])
    assert charge is not None and charge.amount_minor == 530
    [refund] = db.exec(select(Refund).where(Refund.charge_id == charge.id)).all()
    assert (refund.amount_minor, refund.status) == (400, "succeeded")
    balances = client.get("/v1/finance/ledger/balances", headers=finance).json()
    assert balances["trial_balance"] == {"EUR": 0}
    assert payable(balances) - payable(before) == 400
    entry = db.exec(select(AuditEntry).where(AuditEntry.action == "resolve_dispute")).one()
    assert entry.subject == f"dispute:{dispute['dispute_id']}"
    assert entry.detail["refund_minor"] == 400


def test_a_rejected_dispute_carries_the_reply_and_moves_no_money(
    riders: Riders, client: TestClient, auth_headers: Headers, db: Session
) -> None:
    dispute = open_on(client, riders.ana, leg_body(riders.ana_card, 0)).json()
    finance = auth_headers("finance")
    silent = resolve(client, finance, dispute["dispute_id"], outcome="rejected")
    assert (silent.status_code, silent.json()["error"]) == (422, "invalid_resolution")
    no_amount = resolve(client, finance, dispute["dispute_id"], outcome="upheld")
    assert (no_amount.status_code, no_amount.json()["error"]) == (422, "invalid_resolution")

    rejected = resolve(
        client,
        finance,
        dispute["dispute_id"],
        outcome="rejected",
        reply="Your 08:00 bus ticket was charged once; the tram was free.",
    )
    assert rejected.status_code == 200, rejected.text

    seen = client.get("/v1/riders/me/disputes", headers=riders.ana).json()["disputes"]
    assert [(d["status"], d["refund_minor"], d["reply"]) for d in seen] == [
        ("rejected", None, "Your 08:00 bus ticket was charged once; the tram was free.")
    ]
    assert db.exec(select(Refund)).all() == []


def test_resolving_twice_is_a_conflict_unless_it_replays_the_same_key(
    riders: Riders, client: TestClient, auth_headers: Headers, db: Session
) -> None:
    dispute_id = open_on(client, riders.ana, leg_body(riders.ana_card, 0)).json()["dispute_id"]
    finance = auth_headers("finance")
    keyed = {**finance, "Idempotency-Key": "resolve-1"}
    first = resolve(client, keyed, dispute_id, outcome="upheld", refund_minor=130)
    replay = resolve(client, keyed, dispute_id, outcome="upheld", refund_minor=130)
    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.json() == first.json()

    again = resolve(client, finance, dispute_id, outcome="rejected", reply="No.")
    assert (again.status_code, again.json()["error"]) == (409, "dispute_already_resolved")
    other = resolve(client, keyed, dispute_id, outcome="upheld", refund_minor=1)
    assert (other.status_code, other.json()["error"]) == (409, "idempotency_key_reused")
    assert [r.amount_minor for r in db.exec(select(Refund)).all()] == [130]
    assert len(db.exec(select(AuditEntry).where(AuditEntry.action == "resolve_dispute")).all()) == 1


def test_a_refund_beyond_what_remains_is_refused_and_the_dispute_stays_open(
    riders: Riders, client: TestClient, auth_headers: Headers
) -> None:
    dispute_id = open_on(client, riders.ana, leg_body(riders.ana_card, 0)).json()["dispute_id"]
    finance = auth_headers("finance")
    too_much = resolve(client, finance, dispute_id, outcome="upheld", refund_minor=531)
    assert (too_much.status_code, too_much.json()["error"]) == (409, "refund_exceeds_refundable")
    assert isinstance(too_much.json()["detail"], str)
    status = client.get(f"/v1/riders/me/disputes/{dispute_id}", headers=riders.ana).json()
    assert status["status"] == "open"


def test_a_declined_day_cannot_be_refunded(
    riders: Riders, client: TestClient, auth_headers: Headers
) -> None:
    dispute = open_on(client, riders.bo, leg_body(riders.bo_card, 0))
    assert dispute.status_code == 201, dispute.text
    finance = auth_headers("finance")
    upheld = resolve(
        client, finance, dispute.json()["dispute_id"], outcome="upheld", refund_minor=50
    )
    assert (upheld.status_code, upheld.json()["error"]) == (409, "charge_not_refundable")


def test_riders_see_and_touch_only_their_own(
    riders: Riders, client: TestClient, auth_headers: Headers
) -> None:
    dispute_id = open_on(client, riders.ana, leg_body(riders.ana_card, 0)).json()["dispute_id"]

    other = client.get(f"/v1/riders/me/disputes/{dispute_id}", headers=riders.bo)
    assert (other.status_code, other.json()["error"]) == (404, "dispute_not_found")
    assert client.get("/v1/riders/me/disputes", headers=riders.bo).json()["disputes"] == []
    foreign_leg = open_on(client, riders.bo, leg_body(riders.ana_card, 0))
    assert (foreign_leg.status_code, foreign_leg.json()["error"]) == (404, "leg_not_found")
    unknown = client.get("/v1/riders/me/disputes/999999", headers=riders.ana)
    assert unknown.status_code == 404
    # Riders do not resolve, finance does not open.
    assert resolve(client, riders.ana, dispute_id, outcome="rejected", reply="x").status_code == 403
    finance = auth_headers("finance")
    assert open_on(client, finance, leg_body(riders.ana_card, 0)).status_code == 403
    missing = resolve(client, finance, 999999, outcome="rejected", reply="x")
    assert (missing.status_code, missing.json()["error"]) == (404, "dispute_not_found")


def test_only_legs_of_closed_days_can_be_disputed(riders: Riders, client: TestClient) -> None:
    not_yet = open_on(
        client, riders.ana, leg_body(riders.ana_card, 0, service_day=OPEN_DAY.isoformat())
    )
    assert (not_yet.status_code, not_yet.json()["error"]) == (409, "service_day_not_closed")
    assert "not closed" in not_yet.json()["detail"]
    no_leg = open_on(client, riders.ana, leg_body(riders.ana_card, 42))
    assert (no_leg.status_code, no_leg.json()["error"]) == (404, "leg_not_found")


def test_a_retried_open_changes_nothing(
    riders: Riders, client: TestClient, db: Session, auth_headers: Headers
) -> None:
    body = leg_body(riders.ana_card, 0)
    first = open_on(client, riders.ana, body, **{"Idempotency-Key": "k-1"})
    replay = open_on(client, riders.ana, body, **{"Idempotency-Key": "k-1"})
    same_leg = open_on(client, riders.ana, {**body, "message": "Again, with other words."})
    assert (first.status_code, replay.status_code, same_leg.status_code) == (201, 200, 200)
    assert first.json() == replay.json() == same_leg.json()
    reused = open_on(client, riders.ana, leg_body(riders.ana_card, 1), **{"Idempotency-Key": "k-1"})
    assert (reused.status_code, reused.json()["error"]) == (409, "idempotency_key_reused")
    assert len(db.exec(select(Dispute)).all()) == 1

    # Once resolved, the leg may be disputed again (a new dispute).
    resolve(
        client,
        auth_headers("finance"),
        first.json()["dispute_id"],
        outcome="rejected",
        reply="Checked: one ticket.",
    )
    reopened = open_on(client, riders.ana, body)
    assert reopened.status_code == 201
    assert reopened.json()["dispute_id"] != first.json()["dispute_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reason": "too_expensive"}, "body.reason"),
        ({"message": ""}, "body.message"),
        ({"message": "x" * 1001}, "body.message"),
        ({"message": "nul \x00 byte"}, "body.message"),
        ({"leg_index": -1}, "body.leg_index"),
        ({"service_day": "26/11/2026"}, "body.service_day"),
        ({"extra": 1}, "body.extra"),
    ],
)
def test_bad_input_is_422_with_the_field(
    riders: Riders, client: TestClient, change: dict[str, Any], field: str
) -> None:
    response = open_on(client, riders.ana, leg_body(riders.ana_card, 0, **change))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation_error"
    assert field in [f["field"] for f in response.json()["fields"]]


def test_lists_are_paged_newest_first(
    riders: Riders, client: TestClient, auth_headers: Headers
) -> None:
    ids = [
        open_on(client, riders.ana, leg_body(riders.ana_card, leg["index"])).json()["dispute_id"]
        for leg in legs_of(client, riders.ana)
    ]
    assert len(ids) == 3
    finance = auth_headers("finance")
    for path, headers in (
        ("/v1/riders/me/disputes", riders.ana),
        ("/v1/finance/disputes", finance),
    ):
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            body = client.get(path, params=params, headers=headers).json()
            seen += [d["dispute_id"] for d in body["disputes"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert (seen, pages) == (sorted(ids, reverse=True), 2)
        bad = client.get(path, params={"cursor": "not-a-cursor"}, headers=headers)
        assert (bad.status_code, bad.json()["error"]) == (400, "invalid_cursor")
        assert client.get(path, params={"limit": 501}, headers=headers).status_code == 422
    upheld = client.get("/v1/finance/disputes?status=upheld", headers=finance).json()
    assert upheld == {"disputes": [], "next_cursor": None}


def test_an_erased_account_leaves_no_words_behind(
    riders: Riders, client: TestClient, db: Session
) -> None:
    dispute_id = open_on(client, riders.ana, leg_body(riders.ana_card, 0)).json()["dispute_id"]
    disputes.forget_user(db, db.get(Dispute, dispute_id).user_id)  # type: ignore[union-attr]
    kept = db.get(Dispute, dispute_id)
    assert kept is not None
    db.refresh(kept)
    assert kept.message == "" and kept.charge_id


# The processor, seen from a dispute's uphold: its refunds answered by a test.

RefundAnswer = Callable[[PaymentGateway, str, int, str], RefundResult]


class _Refunds(Delegating):
    """The simulated acquirer's gateway, except that refunds go through `answer` (which
    may ask the simulated acquirer, `inner`, itself)."""

    def __init__(self, inner: PaymentGateway, answer: RefundAnswer) -> None:
        super().__init__(inner)
        self.answer = answer

    def refund(self, *, charge_id: str, amount_minor: int, idempotency_key: str) -> RefundResult:
        return self.answer(self.inner, charge_id, amount_minor, idempotency_key)


class Answering(StoredSimulatedAcquirer):
    def __init__(self, answer: RefundAnswer) -> None:
        super().__init__(sleep=no_sleep)
        self.answer = answer

    def open_refunds(self, session: Session, charge_ids: Sequence[str]) -> PaymentGateway:
        return _Refunds(super().open_refunds(session, charge_ids), self.answer)


def asked(inner: PaymentGateway, charge_id: str, amount_minor: int, key: str) -> RefundResult:
    return inner.refund(charge_id=charge_id, amount_minor=amount_minor, idempotency_key=key)


def refused(inner: PaymentGateway, charge_id: str, amount_minor: int, key: str) -> RefundResult:
    return RefundResult(
        status=RefundStatus.REJECTED,
        idempotency_key=key,
        charge_id=charge_id,
        amount_minor=amount_minor,
        refund_id=None,
        message="refused by the issuer",
    )


def trial_balance(client: TestClient, finance: dict[str, str]) -> Any:
    return client.get("/v1/finance/ledger/balances", headers=finance).json()["trial_balance"]


def test_a_rejection_while_the_upholds_refund_is_at_the_processor_is_refused(
    riders: Riders, client: TestClient, auth_headers: Headers, app: FastAPI, db: Session
) -> None:
    dispute_id = open_on(client, riders.ana, leg_body(riders.ana_card, 0)).json()["dispute_id"]
    finance, colleague = auth_headers("finance"), auth_headers("admin")
    competing: list[Any] = []

    def meanwhile(inner: PaymentGateway, charge_id: str, amount: int, key: str) -> RefundResult:
        # The refund is committed and the dispute's lock released: a colleague (or a
        # second click) rejects the same dispute before the processor answers.
        if not competing:
            competing.append(
                resolve(client, colleague, dispute_id, outcome="rejected", reply="No refund.")
            )
        return asked(inner, charge_id, amount, key)

    app.state.settlement.override = Answering(meanwhile)
    upheld = resolve(client, finance, dispute_id, outcome="upheld", refund_minor=130)

    [rejection] = competing
    assert (rejection.status_code, rejection.json()["error"]) == (
        409,
        "dispute_refund_in_progress",
    )
    assert "130" in rejection.json()["detail"]
    assert upheld.status_code == 200, upheld.text
    mine = client.get(f"/v1/riders/me/disputes/{dispute_id}", headers=riders.ana).json()
    assert (mine["status"], mine["refund_minor"], mine["refund_status"]) == (
        "upheld",
        130,
        "succeeded",
    )
    [refund] = db.exec(select(Refund)).all()
    dispute = db.get(Dispute, dispute_id, populate_existing=True)
    assert dispute is not None and dispute.refund_id == refund.id
    assert trial_balance(client, finance) == {"EUR": 0}
    resolutions = db.exec(select(AuditEntry).where(AuditEntry.action == "resolve_dispute")).all()
    assert [e.detail["outcome"] for e in resolutions] == ["upheld"]


def test_an_uphold_the_processor_did_not_answer_can_only_be_finished(
    riders: Riders, client: TestClient, auth_headers: Headers, app: FastAPI, db: Session
) -> None:
    dispute_id = open_on(client, riders.ana, leg_body(riders.ana_card, 0)).json()["dispute_id"]
    finance = auth_headers("finance")
    silent = True

    def timing_out(inner: PaymentGateway, charge_id: str, amount: int, key: str) -> RefundResult:
        if silent:
            raise TimeoutError("the processor did not answer")
        return asked(inner, charge_id, amount, key)

    app.state.settlement.override = Answering(timing_out)
    first = resolve(client, finance, dispute_id, outcome="upheld", refund_minor=130)
    assert (first.status_code, first.json()["error"]) == (503, "processor_unavailable")
    mine = client.get(f"/v1/riders/me/disputes/{dispute_id}", headers=riders.ana).json()
    assert (mine["status"], mine["refund_minor"], mine["refund_status"]) == ("open", 130, "failed")

    # The processor may have made it: the amount stays reserved, the dispute can't be
    # rejected nor upheld with another amount; only that refund can be finished.
    rejected = resolve(client, finance, dispute_id, outcome="rejected", reply="No.")
    assert (rejected.status_code, rejected.json()["error"]) == (409, "dispute_refund_in_progress")
    other = resolve(client, finance, dispute_id, outcome="upheld", refund_minor=100)
    assert (other.status_code, other.json()["error"]) == (409, "dispute_refund_already_asked")
    silent = False
    finished = resolve(client, finance, dispute_id, outcome="upheld", refund_minor=130)
    assert finished.status_code == 200, finished.text
    assert (finished.json()["status"], finished.json()["refund_status"]) == ("upheld", "succeeded")
    assert [(r.amount_minor, r.status) for r in db.exec(select(Refund)).all()] == [
        (130, "succeeded")
    ]
    assert trial_balance(client, finance) == {"EUR": 0}


def test_a_refund_the_bank_refuses_later_opens_the_dispute_again(
    riders: Riders, client: TestClient, auth_headers: Headers, app: FastAPI, db: Session
) -> None:
    body = leg_body(riders.ana_card, bike_index(client, riders))
    dispute_id = open_on(client, riders.ana, body).json()["dispute_id"]
    finance = auth_headers("finance")
    app.state.settlement.override = Slow(sleep=no_sleep)  # refunds stay pending
    upheld = resolve(
        client, finance, dispute_id, outcome="upheld", refund_minor=400, reply="Refunded."
    )
    assert (upheld.json()["status"], upheld.json()["refund_status"]) == ("upheld", "pending")
    # Until the bank answers, the leg's dispute is that one.
    again = open_on(client, riders.ana, body)
    assert (again.status_code, again.json()["dispute_id"]) == (200, dispute_id)

    app.state.settlement.stripe_webhook_secret = SECRET
    refusal = {"id": "re_pending_1", "status": "failed", "metadata": {}}
    answered = post(client, event("evt_refund_refused", "refund.updated", refusal))
    assert answered.json()["outcome"].endswith("failed at the processor"), answered.text

    mine = client.get(f"/v1/riders/me/disputes/{dispute_id}", headers=riders.ana).json()
    assert (mine["status"], mine["refund_minor"], mine["refund_status"], mine["reply"]) == (
        "open",
        None,
        None,
        None,
    )
    assert mine["resolved_at"] is None
    reopened = db.exec(select(AuditEntry).where(AuditEntry.action == "reopen_dispute")).one()
    assert (reopened.subject, reopened.actor) == (f"dispute:{dispute_id}", "webhook:stripe")
    assert (reopened.detail["was"], reopened.detail["refund_minor"]) == ("upheld", 400)
    listed = client.get("/v1/finance/disputes?status=open", headers=finance).json()["disputes"]
    assert [(d["dispute_id"], d["refundable_minor"]) for d in listed] == [(dispute_id, 530)]

    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    second = resolve(
        client, finance, dispute_id, outcome="upheld", refund_minor=400, reply="Refunded."
    )
    assert second.status_code == 200, second.text
    assert (second.json()["status"], second.json()["refund_status"]) == ("upheld", "succeeded")
    refunds_made = db.exec(select(Refund).order_by(col(Refund.id))).all()
    assert [(r.amount_minor, r.status) for r in refunds_made] == [
        (400, "rejected"),
        (400, "succeeded"),
    ]
    assert refunds_made[0].refund_key != refunds_made[1].refund_key
    charges = client.get("/v1/riders/me/charges", headers=riders.ana).json()["charges"]
    [day_charge] = [c for c in charges if c["service_day"] == DAY.isoformat()]
    assert (day_charge["status"], day_charge["refunded_minor"]) == ("partially_refunded", 400)
    assert trial_balance(client, finance) == {"EUR": 0}
    # The same refusal delivered again changes nothing.
    post(client, event("evt_refund_refused", "refund.updated", refusal))
    mine = client.get(f"/v1/riders/me/disputes/{dispute_id}", headers=riders.ana).json()
    assert (mine["status"], mine["refund_status"]) == ("upheld", "succeeded")


def test_a_refund_refused_at_once_leaves_the_dispute_open_to_uphold_again(
    riders: Riders, client: TestClient, auth_headers: Headers, app: FastAPI, db: Session
) -> None:
    dispute_id = open_on(client, riders.ana, leg_body(riders.ana_card, 0)).json()["dispute_id"]
    finance = auth_headers("finance")
    app.state.settlement.override = Answering(refused)
    first = resolve(client, finance, dispute_id, outcome="upheld", refund_minor=130)
    assert (first.status_code, first.json()["error"]) == (409, "refund_rejected")
    mine = client.get(f"/v1/riders/me/disputes/{dispute_id}", headers=riders.ana).json()
    assert (mine["status"], mine["refund_minor"], mine["refund_status"]) == ("open", None, None)

    app.state.settlement.override = Answering(asked)
    second = resolve(client, finance, dispute_id, outcome="upheld", refund_minor=130)
    assert second.status_code == 200, second.text
    assert (second.json()["status"], second.json()["refund_status"]) == ("upheld", "succeeded")
    assert trial_balance(client, finance) == {"EUR": 0}
    # Or, refused again, finance may reject it instead.
    other = open_on(client, riders.ana, leg_body(riders.ana_card, 1)).json()["dispute_id"]
    app.state.settlement.override = Answering(refused)
    assert resolve(client, finance, other, outcome="upheld", refund_minor=50).status_code == 409
    rejected = resolve(client, finance, other, outcome="rejected", reply="Checked: one ticket.")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["refund_minor"] is None


# Property: whatever finance decides, in any order, upheld disputes never give back more
# than the charge, each upheld dispute is one refund of its amount, and the ledger balances.

decisions = st.lists(
    st.tuples(
        st.integers(0, 2),  # which leg
        st.sampled_from(["upheld", "rejected"]),
        st.integers(1, 600),  # refund asked, in cents
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=decisions)
def test_upheld_disputes_never_refund_more_than_the_charge(
    riders: Riders, db: Session, steps: list[tuple[int, str, int]]
) -> None:
    link = db.exec(select(RiderCard).where(RiderCard.card_id == riders.ana_card)).one()
    processor = StoredSimulatedAcquirer(sleep=no_sleep)
    savepoint = db.begin_nested()
    try:
        for leg_index, outcome, amount in steps:
            opened = disputes.open_dispute(
                db,
                user_id=link.user_id,
                card_id=riders.ana_card,
                service_day=DAY,
                leg_index=leg_index,
                reason=disputes.DisputeReason.WRONG_AMOUNT,
                message="Please check.",
                idempotency_key=None,
                now=utc_now(),
            )
            try:
                disputes.resolve(
                    db,
                    dispute_id=opened.dispute.id or 0,
                    outcome=disputes.Outcome(outcome),
                    refund_minor=amount if outcome == "upheld" else None,
                    reply="" if outcome == "upheld" else "Checked.",
                    actor="finance@example.org",
                    processor=processor,
                    now=utc_now,
                    checkpoint=db.flush,
                )
            except SettlementError as refused:
                assert refused.code in ("refund_exceeds_refundable", "charge_not_refundable")
        charge = db.get(Charge, opened.dispute.charge_id)
        assert charge is not None
        given_back = refunds.refunded_minor(db, charge.id or 0)
        assert given_back <= charge.amount_minor
        upheld = db.exec(select(Dispute).where(Dispute.status == "upheld")).all()
        assert sum(d.refund_minor or 0 for d in upheld) == given_back
        assert all(d.refund_id is not None for d in upheld)
        assert posting.trial_balance(db) == {"EUR": 0}
    finally:
        savepoint.rollback()


def test_a_day_split_by_a_token_key_change_is_not_guessed(
    riders: Riders, client: TestClient, db: Session
) -> None:
    """A card tapping under its old and new token on one day is charged as two card-days
    (docs/privacy.md): its journey numbers repeat, and a dispute must not pick one."""
    old = db.exec(select(RiderCard).where(RiderCard.card_id == riders.ana_card)).one().card_token
    new = "tok-2:" + "n" * 43
    now = utc_now()
    db.add(CardTokenLink(token=old, first_token=old, previous_token=None, linked_at=now))
    db.add(CardTokenLink(token=new, first_token=old, previous_token=old, linked_at=now))
    [first] = db.exec(
        select(PricedLeg).where(
            PricedLeg.card_token == old, PricedLeg.service_day == DAY, PricedLeg.leg_index == 0
        )
    ).all()
    db.add(PricedLeg.model_validate({**first.model_dump(exclude={"id"}), "card_token": new}))
    db.commit()

    response = open_on(client, riders.ana, leg_body(riders.ana_card, 0))

    assert response.status_code == 409, response.text
    assert response.json()["error"] == "ambiguous_leg"
    assert db.exec(select(Dispute)).all() == []
