"""Debt recovery: a paid debt takes the card off the deny list at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from settlement import posting
from settlement.context import DebtPolicy
from settlement.debts import DebtNotFound, pay_debt, retry_debts
from settlement.processor import StoredSimulatedAcquirer
from settlement.simulated import reference_for
from settlement.store import Charge, Debt
from tests.settlement.network import DECLINED_PAN, Network, local, make_network, no_sleep
from validators.schema import utc_now
from validators.store import DenyListEntry


class FundedAgain(StoredSimulatedAcquirer):
    """The same cards, as the acquirer sees them once the rider has topped up: the
    declining test BIN is replaced by an ordinary one."""

    def references(self, session: Session, tokens: Sequence[str]) -> dict[str, str]:
        return {
            token: reference_for("424242", reference.split(":")[2], token)
            for token, reference in super().references(session, tokens).items()
        }


@pytest.fixture
def declined(db: Session, client: TestClient, app: FastAPI) -> Debt:
    network: Network = make_network(db, client, app)
    network.ride("tram-1", DECLINED_PAN, local(9, 0))
    network.close()
    return db.exec(select(Debt)).one()


def test_a_retry_that_is_declined_again_counts_an_attempt(db: Session, declined: Debt) -> None:
    result = retry_debts(
        db, processor=StoredSimulatedAcquirer(sleep=no_sleep), policy=DebtPolicy(), now=utc_now
    )
    assert (result.attempted, result.declined, result.recovered) == (1, 1, 0)
    db.refresh(declined)
    assert (declined.status, declined.attempts) == ("open", 1)
    assert db.get(DenyListEntry, declined.card_token) is not None


def test_a_successful_retry_clears_the_debt_and_the_deny_list(db: Session, declined: Debt) -> None:
    result = retry_debts(
        db, processor=FundedAgain(sleep=no_sleep), policy=DebtPolicy(), now=utc_now
    )
    assert (result.recovered, result.recovered_minor) == (1, 130)
    db.refresh(declined)
    assert declined.status == "recovered"
    assert db.get(DenyListEntry, declined.card_token) is None
    assert db.get(Charge, declined.charge_id).status == "recovered"  # type: ignore[union-attr]
    balances = posting.balances(db)["EUR"]
    assert balances.get("riders_debt", 0) == 0
    assert balances["processor_clearing"] == 130
    # Nothing is left to retry.
    again = retry_debts(db, processor=FundedAgain(sleep=no_sleep), policy=DebtPolicy(), now=utc_now)
    assert again.attempted == 0


def test_debts_outside_the_policy_are_not_retried(db: Session, declined: Debt) -> None:
    policy = DebtPolicy(max_attempts=6, window_days=14)
    later = lambda: utc_now() + timedelta(days=15)  # noqa: E731
    result = retry_debts(db, processor=FundedAgain(sleep=no_sleep), policy=policy, now=later)
    assert (result.attempted, result.outside_policy) == (0, 1)


def test_at_most_max_attempts(db: Session, declined: Debt) -> None:
    policy = DebtPolicy(max_attempts=2)
    for _ in range(3):
        retry_debts(
            db, processor=StoredSimulatedAcquirer(sleep=no_sleep), policy=policy, now=utc_now
        )
    db.refresh(declined)
    assert declined.attempts == 2


def test_a_rider_pays_a_debt_of_their_own_card_only(db: Session, declined: Debt) -> None:
    assert declined.id is not None
    with pytest.raises(DebtNotFound):
        pay_debt(
            db,
            debt_id=declined.id,
            card_tokens=["someone-else"],
            processor=FundedAgain(sleep=no_sleep),
            now=utc_now(),
        )
    paid = pay_debt(
        db,
        debt_id=declined.id,
        card_tokens=[declined.card_token],
        processor=FundedAgain(sleep=no_sleep),
        now=utc_now(),
    )
    assert paid.status == "recovered"
    assert db.get(DenyListEntry, declined.card_token) is None


def test_a_rider_sees_their_charges_and_pays_their_debt_over_http(
    db: Session, client: TestClient, app: FastAPI, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    network = make_network(db, client, app)
    rider = auth_headers("rider")
    linked = client.post(
        "/v1/riders/me/cards", json={"card": network.card(DECLINED_PAN)}, headers=rider
    )
    assert linked.status_code in (200, 201), linked.text
    network.ride("tram-1", DECLINED_PAN, local(9, 0))
    network.close()

    charges = client.get("/v1/riders/me/charges", headers=rider).json()["charges"]
    assert [(c["service_day"], c["amount_minor"], c["status"]) for c in charges] == [
        ("2026-11-26", 130, "declined")
    ]
    debt = client.get("/v1/riders/me/debts", headers=rider).json()["debts"][0]
    assert debt["status"] == "open"

    app.state.settlement.override = FundedAgain(sleep=no_sleep)
    paid = client.post(f"/v1/riders/me/debts/{debt['debt_id']}/pay", headers=rider)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "recovered"
    again = network.ride("tram-1", DECLINED_PAN, local(8, 0, date(2026, 11, 27)))
    assert again["decision"] == "allow"
    # Paying twice is a conflict; someone else's debt does not exist for them.
    assert (
        client.post(f"/v1/riders/me/debts/{debt['debt_id']}/pay", headers=rider).status_code == 409
    )
    other = auth_headers("admin")
    assert (
        client.post(f"/v1/riders/me/debts/{debt['debt_id']}/pay", headers=other).status_code == 403
    )
