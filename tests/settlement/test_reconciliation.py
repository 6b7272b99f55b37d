"""Reconciliation with the simulated acquirer's settlement file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from settlement import posting
from settlement.processor import StoredSimulatedAcquirer
from settlement.store import SimulatedAcquirerCharge
from tests.settlement.network import (
    APPROVED_PAN,
    DECLINED_PAN,
    OTHER_PAN,
    local,
    make_network,
    no_sleep,
)
from validators.schema import utc_now

Headers = Callable[[str], dict[str, str]]


def test_charges_match_the_settlement_file_and_fees_are_booked_once(
    db: Session, client: TestClient, app: FastAPI, auth_headers: Headers
) -> None:
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    network = make_network(db, client, app)
    network.ride("tram-1", APPROVED_PAN, local(8, 0))
    network.ride("tram-1", OTHER_PAN, local(9, 0))
    network.ride("tram-1", DECLINED_PAN, local(9, 0))
    network.close()
    # A charge someone made by hand at the processor: not ours.
    db.add(
        SimulatedAcquirerCharge(
            idempotency_key="manual-1",
            processor_id="sim_ch_manual",
            reference="sim:424242:4242:x",
            amount_minor=999,
            currency="EUR",
            status="succeeded",
            fee_minor=7,
            charged_on=utc_now().date(),
        )
    )
    db.commit()
    today = utc_now().date()
    url = f"/v1/finance/reconciliation?from={today}&to={today + timedelta(days=7)}"
    finance = auth_headers("finance")

    report = client.get(url, headers=finance).json()

    assert report["matched"] == 2
    assert report["matched_minor"] == 260
    assert report["missing_at_processor"]["count"] == 0
    assert report["amount_mismatch"]["count"] == 0
    assert [i["processor_id"] for i in report["unknown_to_us"]["items"]] == ["sim_ch_manual"]
    # 0.2 % of 1.30 rounds to 0, plus 0.05 each; the manual charge's fee too.
    assert report["fees_booked_minor"] == 5 + 5 + 7
    assert report["payouts"] and report["from"] == today.isoformat()

    again = client.get(url, headers=finance).json()
    assert again["fees_booked_minor"] == 0
    assert again["matched"] == 2
    balances = posting.balances(db)["EUR"]
    assert balances["processor_fees"] == 17
    assert set(posting.trial_balance(db).values()) == {0}


def test_every_break_pages_out_whole_beyond_what_the_report_lists(
    db: Session, client: TestClient, app: FastAPI, auth_headers: Headers
) -> None:
    app.state.settlement.override = StoredSimulatedAcquirer(sleep=no_sleep)
    today = utc_now().date()
    # Seven charges made by hand at the processor: all unknown to us.
    for n in range(7):
        db.add(
            SimulatedAcquirerCharge(
                idempotency_key=f"manual-{n}",
                processor_id=f"sim_ch_manual_{n}",
                reference="sim:424242:4242:x",
                amount_minor=100 + n,
                currency="EUR",
                status="succeeded",
                fee_minor=5,
                charged_on=today,
            )
        )
    db.commit()
    finance = auth_headers("finance")
    query = {"from": today.isoformat(), "to": today.isoformat(), "kind": "unknown_to_us"}
    path = "/v1/finance/reconciliation/breaks"

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {**query, "limit": "3", **({"cursor": cursor} if cursor else {})}
        body = client.get(path, params=params, headers=finance).json()
        assert body["count"] == 7 and len(body["items"]) <= 3
        seen.extend(item["idempotency_key"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == [f"manual-{n}" for n in range(7)]
    other = client.get(path, params={**query, "kind": "amount_mismatch"}, headers=finance)
    assert other.json() == {"kind": "amount_mismatch", "count": 0, "items": [], "next_cursor": None}
    unknown_kind = client.get(path, params={**query, "kind": "nonsense"}, headers=finance)
    assert unknown_kind.status_code == 422 and "error" in unknown_kind.json()
    foreign = client.get(path, params={**query, "cursor": "e30"}, headers=finance)
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_cursor"
