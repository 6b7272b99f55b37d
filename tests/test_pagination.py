"""Every list of the API comes in pages: `limit` and `cursor` in, `next_cursor` out.

Walking the pages of a list gives each item once, in the order of the whole list; a page
larger than the maximum, or a cursor the list did not give out, is a 4xx with the usual
error body, never a 500.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from settlement import ledger, posting
from settlement.store import Charge, Debt, PricedLeg, SettlementDay
from tests.validators.devices import sealed_card
from tests.validators.rider_helpers import rider_headers
from validators import audit
from validators.simulation import luhn_complete
from validators.store import RiderCard

Headers = Callable[[str], dict[str, str]]
FIRST_DAY = date(2026, 10, 1)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAYS = 7


def walk(
    client: TestClient,
    path: str,
    headers: dict[str, str],
    field: str,
    *,
    limit: int,
    query: dict[str, str] | None = None,
) -> tuple[list[Any], int]:
    """Every item of the list, page after page, and the number of pages."""
    items: list[Any] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {**(query or {}), "limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        page = body[field]
        assert len(page) <= limit
        items.extend(page.items() if isinstance(page, dict) else page)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 100, "the cursor does not move"


def assert_walks(
    client: TestClient,
    path: str,
    headers: dict[str, str],
    field: str,
    expected: list[Any],
    query: dict[str, str] | None = None,
) -> None:
    whole = client.get(path, params={**(query or {}), "limit": 500}, headers=headers).json()
    assert whole["next_cursor"] is None
    assert len(whole[field]) == len(expected)
    for limit in (1, 3, len(expected), len(expected) + 1):
        items, pages = walk(client, path, headers, field, limit=limit, query=query)
        assert items == whole[field]
        assert pages == max(1, -(-len(expected) // limit))


def assert_refuses_bad_paging(
    client: TestClient, path: str, headers: dict[str, str], query: dict[str, str] | None = None
) -> None:
    query = query or {}
    too_big = client.get(path, params={**query, "limit": 501}, headers=headers)
    assert too_big.status_code == 422
    assert too_big.json()["error"] == "validation_error"
    assert client.get(path, params={**query, "limit": 0}, headers=headers).status_code == 422
    foreign = base64.urlsafe_b64encode(json.dumps(["nope", 1]).encode()).decode()
    for cursor in ("not a cursor!", "AAAA", "e30", foreign, "W10", "x" * 600):
        response = client.get(path, params={**query, "cursor": cursor}, headers=headers)
        assert response.status_code in (400, 422), (cursor, response.text)
        body = response.json()
        assert isinstance(body["error"], str) and isinstance(body["detail"], str)


def test_service_days(db: Session, client: TestClient, auth_headers: Headers) -> None:
    for n in range(DAYS):
        db.add(
            SettlementDay(
                day=FIRST_DAY + timedelta(days=n),
                status="closed",
                currency="EUR",
                method="m",
                allocation_rule="r",
                started_at=NOW,
            )
        )
    db.commit()
    finance = auth_headers("finance")
    path = "/v1/finance/service-days"

    assert_walks(client, path, finance, "service_days", list(range(DAYS)))
    days = [d["service_day"] for d in walk(client, path, finance, "service_days", limit=2)[0]]
    assert days == [(FIRST_DAY + timedelta(days=n)).isoformat() for n in reversed(range(DAYS))]
    assert_refuses_bad_paging(client, path, finance)


def test_audit_log_with_cursor_and_before_id(
    db: Session, client: TestClient, auth_headers: Headers
) -> None:
    for n in range(DAYS):
        audit.record(db, actor="finance@example.org", action="test", subject=str(n), now=NOW)
    db.commit()
    finance = auth_headers("finance")  # logs nothing: only the entries above
    path = "/v1/finance/audit-log"

    entries, _ = walk(client, path, finance, "entries", limit=3)
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) >= DAYS
    assert_walks(client, path, finance, "entries", entries)
    # The older form still pages.
    first = client.get(path, params={"limit": 3}, headers=finance).json()
    older = client.get(
        path, params={"limit": 3, "before_id": first["next_before_id"]}, headers=finance
    ).json()
    assert [e["id"] for e in older["entries"]] == ids[3:6]
    assert_refuses_bad_paging(client, path, finance)


def test_ledger_balances(db: Session, client: TestClient, auth_headers: Headers) -> None:
    shares = {f"op-{n}": 100 for n in range(DAYS)}
    posting.post(
        db,
        [
            ledger.charge_captured(
                card_token="tok-balances",
                service_day=FIRST_DAY,
                currency="EUR",
                amount_minor=100 * DAYS,
                shares=shares,
            )
        ],
        now=NOW,
    )
    db.commit()
    finance = auth_headers("finance")
    path = "/v1/finance/ledger/balances"
    whole = client.get(path, params={"limit": 500}, headers=finance).json()
    accounts = list(whole["balances"]["EUR"].items())
    assert len(accounts) > DAYS

    items, _ = walk(client, path, finance, "balances", limit=2)
    merged: dict[str, int] = {}
    for currency, page in items:
        assert currency == "EUR"
        assert not set(page) & set(merged)
        merged.update(page)
    assert list(merged.items()) == accounts
    assert client.get(path, params={"limit": 1}, headers=finance).json()["trial_balance"] == {
        "EUR": 0
    }
    assert_refuses_bad_paging(client, path, finance)


@pytest.fixture
def rider(db: Session, client: TestClient) -> tuple[dict[str, str], list[str]]:
    """A rider with three linked cards: their headers and their card tokens."""
    headers = rider_headers(client, "pages@example.org")
    for n in range(3):
        card = sealed_card(client, pan=luhn_complete(f"497010000000{n:03d}"))
        linked = client.post("/v1/riders/me/cards", json={"card": card}, headers=headers)
        assert linked.status_code == 200, linked.text
    links = db.exec(select(RiderCard).order_by(col(RiderCard.linked_at))).all()
    return headers, [link.card_token for link in links]


def test_cards(client: TestClient, rider: tuple[dict[str, str], list[str]]) -> None:
    headers, tokens = rider
    path = "/v1/riders/me/cards"
    assert_walks(client, path, headers, "cards", tokens)
    assert_refuses_bad_paging(client, path, headers)


def test_charges_and_debts(
    db: Session, client: TestClient, rider: tuple[dict[str, str], list[str]]
) -> None:
    headers, tokens = rider
    for n in range(DAYS):
        for token in tokens[:2]:
            day = FIRST_DAY + timedelta(days=n // 2)  # two days share a date: ids break ties
            charge = Charge(
                card_token=token,
                service_day=day,
                kind="day",
                sequence=n,
                posted_day=day,
                amount_minor=100 + n,
                currency="EUR",
                status="declined",
                idempotency_key=f"charge:{token}:{n}",
                created_at=NOW,
                updated_at=NOW,
            )
            db.add(charge)
            db.flush()
            assert charge.id is not None
            db.add(
                Debt(
                    charge_id=charge.id,
                    card_token=token,
                    service_day=day,
                    amount_minor=100 + n,
                    currency="EUR",
                    status="open",
                    created_at=NOW,
                )
            )
    db.commit()

    charges = client.get("/v1/riders/me/charges", params={"limit": 500}, headers=headers).json()
    keys = [(c["service_day"], -c["charge_id"]) for c in charges["charges"]]
    assert keys == sorted(keys, reverse=True) and len(keys) == 2 * DAYS
    assert_walks(client, "/v1/riders/me/charges", headers, "charges", keys)
    debts = client.get("/v1/riders/me/debts", params={"limit": 500}, headers=headers).json()
    ids = [d["debt_id"] for d in debts["debts"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 2 * DAYS
    assert_walks(client, "/v1/riders/me/debts", headers, "debts", ids)
    assert_refuses_bad_paging(client, "/v1/riders/me/charges", headers)
    assert_refuses_bad_paging(client, "/v1/riders/me/debts", headers)


def test_journeys(db: Session, client: TestClient, rider: tuple[dict[str, str], list[str]]) -> None:
    headers, tokens = rider
    for n in range(DAYS):
        for token in tokens:
            started = datetime.combine(FIRST_DAY + timedelta(days=n), datetime.min.time(), UTC)
            for leg in range(2):
                db.add(
                    PricedLeg(
                        card_token=token,
                        service_day=FIRST_DAY + timedelta(days=n),
                        leg_index=leg,
                        kind="transit",
                        operator_id="divia-tram",
                        amount_minor=130,
                        standalone_minor=130,
                        fare_product_id="ticket_1h",
                        explanation="a ride",
                        started_at=started + timedelta(hours=8 + leg),
                    )
                )
    db.commit()
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    path = "/v1/riders/me/journeys"
    query = {"from": FIRST_DAY.isoformat(), "to": last.isoformat()}

    whole = client.get(path, params={**query, "limit": 500}, headers=headers).json()
    keys = [(d["service_day"], d["card_id"]) for d in whole["days"]]
    assert keys == sorted(keys, reverse=True) and len(set(keys)) == DAYS * len(tokens)
    assert all(len(d["legs"]) == 2 and d["total_minor"] == 260 for d in whole["days"])
    assert_walks(client, path, headers, "days", keys, query)
    assert_refuses_bad_paging(client, path, headers, query)
