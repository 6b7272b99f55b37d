"""A device posting past its budget of requests or taps per window gets 429 with
Retry-After; the taps of that request are not stored, and the same batch is accepted
once the window has passed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from tests.validators.devices import TestDevice, sealed_card, tap
from ticketing.settings import Settings
from validators import api as validators_api
from validators.ratelimit import IntakeLimits, RateLimited
from validators.schema import utc_now
from validators.store import Tap

WINDOW_S = 60


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "intake_requests_per_window": 3,
            "intake_taps_per_window": 5,
            "intake_window_seconds": WINDOW_S,
        }
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The intake route's clock, moved by hand: `clock[0] += timedelta(...)`."""
    now = [utc_now()]
    monkeypatch.setattr(validators_api, "utc_now", lambda: now[0])
    yield now


Post = Callable[[list[dict[str, Any]]], Any]


@pytest.fixture
def post(client: TestClient, device: TestDevice) -> Post:
    def send(taps: list[dict[str, Any]]) -> Any:
        return client.post("/v1/devices/taps", json={"taps": taps}, headers=device.headers())

    return send


def stored(db: Session, taps: list[dict[str, Any]]) -> int:
    ids = [t["tap_id"] for t in taps]
    return len(db.exec(select(Tap.tap_id).where(col(Tap.tap_id).in_(ids))).all())


def assert_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "rate_limited"
    assert isinstance(response.json()["detail"], str)
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW_S


def test_requests_past_the_limit_are_refused_until_the_next_window(
    db: Session, client: TestClient, post: Post, clock: list[datetime]
) -> None:
    card = sealed_card(client)
    for _ in range(3):
        assert post([tap(card)]).status_code == 200
    refused = [tap(card, at=datetime(2026, 11, 26, 9, 0).astimezone())]

    assert_limited(post(refused))
    assert stored(db, refused) == 0

    clock[0] += timedelta(seconds=WINDOW_S)
    accepted = post(refused)
    assert accepted.status_code == 200, accepted.text
    assert [r["status"] for r in accepted.json()["results"]] == ["accepted"]
    assert stored(db, refused) == 1
    again = post(refused)
    assert [r["status"] for r in again.json()["results"]] == ["duplicate"]
    assert stored(db, refused) == 1


def test_taps_past_the_limit_are_refused_and_a_refused_batch_spends_nothing(
    db: Session, client: TestClient, post: Post, clock: list[datetime]
) -> None:
    card = sealed_card(client)
    first = [tap(card, at=datetime(2026, 11, 26, 9, n).astimezone()) for n in range(3)]
    second = [tap(card, at=datetime(2026, 11, 26, 10, n).astimezone()) for n in range(3)]
    assert post(first).status_code == 200

    assert_limited(post(second))  # 3 + 3 taps > 5
    assert stored(db, second) == 0
    assert post(second[:2]).status_code == 200  # the refused batch did not count

    clock[0] += timedelta(seconds=WINDOW_S)
    assert post(second).status_code == 200
    assert stored(db, second) == 3


def test_one_device_over_its_limit_does_not_hold_back_another(
    db: Session, client: TestClient, post: Post, clock: list[datetime]
) -> None:

    other = TestDevice(device_id="bus-9", operator_id="divia-bus", kind="bus")
    other.register(db)
    db.commit()
    card = sealed_card(client)
    for _ in range(3):
        post([tap(card)])
    assert_limited(post([tap(card)]))
    response = client.post("/v1/devices/taps", json={"taps": [tap(card)]}, headers=other.headers())
    assert response.status_code == 200


def test_the_default_limits_let_a_validator_empty_its_offline_queue(db: Session) -> None:
    """A minute of 1000-tap batches every two seconds, as after a long tunnel."""
    limits = IntakeLimits()
    assert (limits.requests, limits.taps, limits.window_s) == (
        Settings().intake_requests_per_window,
        Settings().intake_taps_per_window,
        Settings().intake_window_seconds,
    )
    start = datetime(2026, 11, 26, 8, 0).astimezone()
    for n in range(30):
        limits.spend(db, device_id="bus-tunnel", taps=1000, now=start + timedelta(seconds=2 * n))
    with pytest.raises(RateLimited):
        limits.spend(db, device_id="bus-tunnel", taps=1000, now=start + timedelta(seconds=59))


def test_a_worker_turns_a_spent_device_away_before_any_work(db: Session) -> None:
    """Refused, a request rolls back and counts nothing: without the worker's memory a
    device stuck in a loop would have every batch opened and hashed before the refusal."""
    limits = IntakeLimits(requests=2, taps=100, window_s=WINDOW_S)
    start = datetime(2026, 11, 26, 8, 0).astimezone()
    for _ in range(2):
        limits.refuse_known(device_id="loop", taps=1, now=start)
        limits.spend(db, device_id="loop", taps=1, now=start)
    with pytest.raises(RateLimited):
        limits.spend(db, device_id="loop", taps=1, now=start)

    with pytest.raises(RateLimited) as refused:
        limits.refuse_known(device_id="loop", taps=1, now=start + timedelta(seconds=5))
    assert 1 <= int(refused.value.headers["Retry-After"]) <= WINDOW_S
    limits.refuse_known(device_id="another", taps=1, now=start)  # others go on
    limits.refuse_known(device_id="loop", taps=1, now=start + timedelta(seconds=WINDOW_S))
