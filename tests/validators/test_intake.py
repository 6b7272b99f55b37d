"""Posting taps: one answer per tap, every tap stored once, nothing lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, col, select

from tests.validators.cards import with_luhn
from tests.validators.devices import DEFAULT_DAY_TIME, TestDevice, sealed_card, tap
from validators import denylist
from validators.schema import utc_now
from validators.store import Card, ServiceDay, Tap

Post = Callable[..., list[dict[str, Any]]]


def stored(db: Session, tap_id: str) -> Tap:
    row = db.exec(select(Tap).where(Tap.tap_id == tap_id)).one()
    return row


def test_a_valid_card_is_allowed_and_stored_with_both_clocks(
    db: Session, client: TestClient, post_taps: Post
) -> None:
    body = tap(sealed_card(client), vehicle_id="tram-12")

    [result] = post_taps(body)

    assert result == {
        "tap_id": body["tap_id"],
        "status": "accepted",
        "decision": "allow",
        "reason": None,
        "detail": None,
    }
    row = stored(db, body["tap_id"])
    assert row.occurred_at == DEFAULT_DAY_TIME
    assert row.received_at > row.occurred_at
    assert (row.route_id, row.stop_id, row.operator_id) == ("T1", "GARE", "divia-tram")
    assert row.service_day == date(2026, 11, 26)
    card = db.get(Card, row.card_token)
    assert card is not None
    assert (card.bin6, card.last4, card.scheme) == ("411111", "1111", "visa")


def test_a_replayed_tap_answers_duplicate_with_the_original_decision(
    db: Session, client: TestClient, post_taps: Post
) -> None:
    body = tap(sealed_card(client, expiry="2001"))  # expired: the original says deny
    [first] = post_taps(body)
    [again] = post_taps(body)

    assert first["decision"] == "deny" and first["reason"] == "card_expired"
    assert again == {**first, "status": "duplicate"}
    assert len(db.exec(select(Tap).where(Tap.tap_id == body["tap_id"])).all()) == 1


def test_the_same_tap_twice_in_one_batch_is_stored_once(
    db: Session, client: TestClient, post_taps: Post
) -> None:
    body = tap(sealed_card(client))
    first, second = post_taps(body, body)
    assert first["status"] == "accepted"
    assert second["status"] == "duplicate" and second["decision"] == "allow"
    assert len(db.exec(select(Tap).where(Tap.tap_id == body["tap_id"])).all()) == 1


def test_a_double_tap_with_the_same_atc_is_a_duplicate_kept_for_the_record(
    db: Session, client: TestClient, post_taps: Post
) -> None:
    first = tap(sealed_card(client, atc=41))
    second = tap(sealed_card(client, atc=41), at=DEFAULT_DAY_TIME + timedelta(seconds=3))
    later = tap(sealed_card(client, atc=41), at=DEFAULT_DAY_TIME + timedelta(minutes=5))

    results = post_taps(first, second, later)

    assert [r["status"] for r in results] == ["accepted", "duplicate", "accepted"]
    assert stored(db, second["tap_id"]).status == "double_tap"


def test_bad_envelopes_are_rejected_with_their_reason_and_still_stored(
    db: Session, client: TestClient, post_taps: Post
) -> None:
    good = sealed_card(client)
    cases = {
        "envelope_not_opened": {"kid": good["kid"], "sealed": good["sealed"][:-8] + "AAAAAAAA"},
        "envelope_malformed": {"kid": good["kid"], "sealed": "%%%not-base64%%%"},
        "unknown_kid": {"kid": "no-such-key", "sealed": good["sealed"]},
        "pan_luhn": sealed_card(client, pan="4111111111111112"),
    }
    bodies = [tap(card) for card in cases.values()]

    results = post_taps(*bodies)

    for reason, body, result in zip(cases, bodies, results, strict=True):
        assert (result["status"], result["decision"], result["reason"]) == (
            "rejected",
            "deny",
            reason,
        )
        row = stored(db, body["tap_id"])
        assert (row.status, row.reason, row.card_token) == ("rejected", reason, None)


def test_one_malformed_tap_does_not_fail_its_batch(
    db: Session, client: TestClient, post_taps: Post
) -> None:
    bad = tap(sealed_card(client))
    bad["occurred_at"] = "yesterday at eight"
    no_card = tap(None)
    good = tap(sealed_card(client))

    results = post_taps(bad, no_card, good, "not even an object")

    assert [r["status"] for r in results] == ["rejected", "rejected", "accepted", "rejected"]
    assert results[0]["reason"] == "malformed_tap"
    assert "occurred_at" in results[0]["detail"]
    assert results[1]["detail"] == "card: missing"
    assert stored(db, bad["tap_id"]).status == "rejected"
    assert len(db.exec(select(Tap).where(Tap.status == "rejected")).all()) == 3


def test_cards_on_the_deny_list_or_expired_or_unsupported_are_denied(
    db: Session, client: TestClient, post_taps: Post
) -> None:
    [seen] = post_taps(tap(sealed_card(client, pan="5555555555554444")))
    token = stored(db, seen["tap_id"]).card_token
    assert token is not None
    denylist.deny(db, token, reason="declined", now=utc_now())
    db.commit()

    results = post_taps(
        tap(sealed_card(client, pan="5555555555554444")),
        tap(sealed_card(client, expiry="2510")),
        tap(sealed_card(client, pan="6200000000000005")),  # UnionPay: not accepted here
    )

    assert [(r["status"], r["decision"], r["reason"]) for r in results] == [
        ("accepted", "deny", "deny_list"),
        ("accepted", "deny", "card_expired"),
        ("accepted", "deny", "scheme_not_accepted"),
    ]


def test_taps_for_a_closed_day_are_accepted_and_flagged_late(
    db: Session, client: TestClient, post_taps: Post
) -> None:
    db.add(ServiceDay(day=date(2026, 11, 26), status="closed", closed_at=utc_now()))
    db.commit()
    late = tap(sealed_card(client))
    next_day = tap(sealed_card(client), at=DEFAULT_DAY_TIME + timedelta(days=1))

    results = post_taps(late, next_day)

    assert [r["status"] for r in results] == ["accepted", "accepted"]
    assert stored(db, late["tap_id"]).late is True
    assert stored(db, next_day["tap_id"]).late is False


def test_bike_returns_need_no_card(db: Session, client: TestClient, post_taps: Post) -> None:
    unlock = tap(sealed_card(client), kind="bike_unlock", bike_id="B42", plan_id="velodi")
    back = tap(None, kind="bike_return", bike_id="B42", at=DEFAULT_DAY_TIME + timedelta(minutes=20))

    results = post_taps(unlock, back)

    assert [(r["status"], r["decision"]) for r in results] == [
        ("accepted", "allow"),
        ("accepted", "allow"),
    ]
    assert stored(db, back["tap_id"]).card_token is None


def test_batch_size_is_bounded(client: TestClient, device: TestDevice) -> None:
    for taps in ([], [tap(None, kind="bike_return", bike_id="B1")] * 1001):
        response = client.post("/v1/devices/taps", json={"taps": taps}, headers=device.headers())
        assert response.status_code == 422
        assert response.json()["error"] == "validation_error"


def test_the_card_number_is_stored_nowhere(
    db: Session, client: TestClient, post_taps: Post
) -> None:
    pans = [with_luhn("497010918273645"), with_luhn("535522736451829"), with_luhn("40000011223344")]
    post_taps(*(tap(sealed_card(client, pan=pan, atc=7)) for pan in pans))
    bad_luhn = pans[0][:-1] + str((int(pans[0][-1]) + 1) % 10)
    post_taps(tap(sealed_card(client, pan=bad_luhn)))

    dump = " ".join(
        str(value)
        for table in SQLModel.metadata.sorted_tables
        for row in db.execute(table.select()).all()
        for value in row
    )
    for pan in [*pans, bad_luhn]:
        assert pan not in dump
        assert pan[4:-2] not in dump  # nor a long run of the digits PCI DSS hides
    last4s = [pan[-4:] for pan in pans]
    assert len(db.exec(select(Card).where(col(Card.last4).in_(last4s))).all()) == 3
