"""Card-token key rotation, drilled end to end: taps under key A, A kept as a previous key
beside a new key B, then A dropped. A card stays one card all along: denied if it owes,
its rider still sees every day of it, and weekly caps count its days under both keys."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, col, select

from settlement.store import Charge
from tests.settlement.network import (
    APPROVED_PAN,
    DECLINED_PAN,
    OTHER_PAN,
    Network,
    local,
    make_network,
)
from tests.validators.cards import CardKeys, with_luhn
from tests.validators.devices import TestDevice
from tests.validators.rider_helpers import rider_headers
from ticketing.app import create_app
from ticketing.db import SessionFactory
from ticketing.settings import Settings, SettingsError, resolve_secrets, secret_bytes
from validators import denylist, tokenlinks
from validators.intake import IntakeKeys, TapResult, ingest
from validators.schema import utc_now
from validators.store import Card, CardTokenLink, DenyListChange, Device
from validators.tokens import KeyRing, TokenKey, tokenize

KEY_A = ("tok-a", "a" * 43)
KEY_B = ("tok-b", "b" * 43)
MONDAY = date(2026, 11, 23)
TUESDAY, WEDNESDAY, THURSDAY = (MONDAY + timedelta(days=n) for n in (1, 2, 3))

MakeApp = Callable[..., tuple[FastAPI, TestClient]]


@pytest.fixture
def make_app(
    settings: Settings, engine: Engine, session_factory: SessionFactory
) -> Iterator[MakeApp]:
    """An app (and its client) configured with the given token keys, on the test's data:
    what a redeploy with new settings looks like to the database."""
    with ExitStack() as stack:

        def make(
            current: tuple[str, str], *previous: tuple[str, str]
        ) -> tuple[FastAPI, TestClient]:
            configured = settings.model_copy(
                update={
                    "card_token_key_id": current[0],
                    "card_token_key": SecretStr(current[1]),
                    "card_token_previous_keys": SecretStr(
                        ",".join(f"{kid}={secret}" for kid, secret in previous)
                    ),
                }
            )
            app = create_app(configured, engine=engine, session_factory=session_factory)
            client = stack.enter_context(TestClient(app, raise_server_exceptions=False))
            return app, client

        yield make


def start_under(key: tuple[str, str], db: Session, make_app: MakeApp) -> Network:
    app, client = make_app(key)
    return make_network(db, client, app)


def switch(network: Network, app_and_client: tuple[FastAPI, TestClient]) -> None:
    network.app, network.client = app_and_client


def key_of(key: tuple[str, str]) -> TokenKey:
    return TokenKey(key[0], secret_bytes(SecretStr(key[1])))


def token(pan: str, key: tuple[str, str]) -> str:
    return tokenize(pan, key_of(key))


def links(db: Session) -> list[tuple[str, str, str | None]]:
    rows = db.exec(select(CardTokenLink).order_by(col(CardTokenLink.token)))
    return [(r.token, r.first_token, r.previous_token) for r in rows]


def test_a_card_stays_one_card_through_a_token_key_rotation(
    db: Session, make_app: MakeApp, auth_headers: Callable[[str], dict[str, str]]
) -> None:
    under_a = make_app(KEY_A)
    network = make_network(db, under_a[1], under_a[0])
    ana = rider_headers(network.client, "ana@example.org")
    bo = rider_headers(network.client, "bo@example.org")
    ana_card = network.client.post(
        "/v1/riders/me/cards", json={"card": network.card(APPROVED_PAN)}, headers=ana
    ).json()["card_id"]
    bo_card = network.client.post(
        "/v1/riders/me/cards", json={"card": network.card(DECLINED_PAN)}, headers=bo
    ).json()["card_id"]
    network.ride("tram-1", APPROVED_PAN, local(8, 0, MONDAY))
    network.ride("tram-1", DECLINED_PAN, local(9, 0, MONDAY))
    network.close(MONDAY)  # the declined card goes on the deny list, with a debt
    device = network.devices["tram-1"]
    before = network.client.get("/v1/devices/deny-list?since=0", headers=device.headers()).json()

    # Rotation: B makes tokens now, A is kept as a previous key to link cards.
    switch(network, make_app(KEY_B, KEY_A))
    approved = network.ride("tram-1", APPROVED_PAN, local(8, 0, TUESDAY))
    declined = network.ride("tram-1", DECLINED_PAN, local(9, 0, TUESDAY))
    network.ride("bus-1", APPROVED_PAN, local(18, 0, TUESDAY))

    assert (approved["status"], approved["decision"]) == ("accepted", "allow")
    assert (declined["decision"], declined["reason"]) == ("deny", "deny_list")
    new_a, old_a = token(APPROVED_PAN, KEY_B), token(APPROVED_PAN, KEY_A)
    new_d, old_d = token(DECLINED_PAN, KEY_B), token(DECLINED_PAN, KEY_A)
    # Exactly one link per card, and the old token names the card.
    assert links(db) == sorted(
        [(old_a, old_a, None), (new_a, old_a, old_a), (old_d, old_d, None), (new_d, old_d, old_d)]
    )
    # Validators keep their list: the deny-list key and the card's hash are unchanged.
    after = network.client.get("/v1/devices/deny-list?since=0", headers=device.headers()).json()
    assert (after["hash_key_id"], after["hash_key"]) == (before["hash_key_id"], before["hash_key"])
    new_card, old_card = db.get(Card, new_d), db.get(Card, old_d)
    assert new_card is not None and old_card is not None
    assert new_card.device_hash == old_card.device_hash
    assert [d["device_hash"] for d in after["changes"]] == [old_card.device_hash]

    network.close(TUESDAY)
    # The rider sees both days under the one card they linked, and so does finance's
    # view of their charges; the debt under the old token is still theirs to pay.
    days = network.client.get(
        f"/v1/riders/me/journeys?from={MONDAY}&to={TUESDAY}", headers=ana
    ).json()["days"]
    assert [(d["service_day"], d["card_id"]) for d in days] == [
        (TUESDAY.isoformat(), ana_card),
        (MONDAY.isoformat(), ana_card),
    ]
    assert [len(d["legs"]) for d in days] == [2, 1]
    charges = network.client.get("/v1/riders/me/charges", headers=ana).json()["charges"]
    assert {(c["service_day"], c["card_id"]) for c in charges} == {
        (MONDAY.isoformat(), ana_card),
        (TUESDAY.isoformat(), ana_card),
    }
    debts = network.client.get("/v1/riders/me/debts", headers=bo).json()["debts"]
    assert [(d["service_day"], d["card_id"], d["status"]) for d in debts] == [
        (MONDAY.isoformat(), bo_card, "open")
    ]
    # Presenting the card again under B links nothing new and finds the same card.
    again = network.client.post(
        "/v1/riders/me/cards", json={"card": network.card(APPROVED_PAN)}, headers=ana
    )
    assert again.status_code == 200 and again.json()["card_id"] == ana_card
    assert len(network.client.get("/v1/riders/me/cards", headers=ana).json()["cards"]) == 1
    # The anonymous card history finds both days too.
    history = network.client.post(
        "/v1/cards/history", json={"card": network.card(APPROVED_PAN)}
    ).json()
    assert history["card"]["last4"] == APPROVED_PAN[-4:]

    # A retired: only B remains. Links made while A was there still hold.
    switch(network, make_app(KEY_B))
    newcomer = network.ride("tram-1", OTHER_PAN, local(8, 0, WEDNESDAY))
    still_denied = network.ride("tram-1", DECLINED_PAN, local(9, 0, WEDNESDAY))
    returning = network.ride("tram-1", APPROVED_PAN, local(10, 0, WEDNESDAY))
    assert (newcomer["status"], newcomer["decision"]) == ("accepted", "allow")
    assert (still_denied["decision"], still_denied["reason"]) == ("deny", "deny_list")
    assert returning["decision"] == "allow"
    assert len(links(db)) == 4
    network.close(WEDNESDAY)
    days = network.client.get(
        f"/v1/riders/me/journeys?from={MONDAY}&to={WEDNESDAY}", headers=ana
    ).json()["days"]
    assert [d["service_day"] for d in days] == [
        WEDNESDAY.isoformat(),
        TUESDAY.isoformat(),
        MONDAY.isoformat(),
    ]
    assert {d["card_id"] for d in days} == {ana_card}
    status = {row.kid: row for row in tokenlinks.status(db)}
    assert (status["tok-a"].cards, status["tok-a"].carried_forward) == (2, 2)
    assert status["tok-b"].cards == 3


def test_paying_one_token_s_debt_keeps_the_card_denied_while_the_other_owes(
    db: Session, make_app: MakeApp
) -> None:
    network = start_under(KEY_A, db, make_app)
    network.ride("tram-1", DECLINED_PAN, local(9, 0, MONDAY))
    switch(network, make_app(KEY_B, KEY_A))
    network.ride("tram-1", DECLINED_PAN, local(9, 0, TUESDAY))
    now = utc_now()
    old, new = token(DECLINED_PAN, KEY_A), token(DECLINED_PAN, KEY_B)
    denylist.deny(db, old, reason="debt", now=now)
    denylist.deny(db, new, reason="debt", now=now)

    assert denylist.allow(db, new, reason="debt_paid", now=now) is None  # old still owes
    assert network.ride("tram-1", DECLINED_PAN, local(10, 0, TUESDAY))["reason"] == "deny_list"
    assert denylist.allow(db, old, reason="debt_paid", now=now) is not None
    assert network.ride("tram-1", DECLINED_PAN, local(11, 0, TUESDAY))["decision"] == "allow"
    actions = db.exec(select(DenyListChange.action).order_by(col(DenyListChange.version))).all()
    assert actions == ["add", "add", "remove"]  # devices drop the hash once, at the end


def test_the_weekly_cap_counts_the_card_s_days_under_its_old_token(
    db: Session, make_app: MakeApp
) -> None:
    # Three 1.30 rides a day reach the 3.90 daily cap; the 12.00 weekly cap leaves 0.30
    # for Thursday, the first day under the new key.
    network = start_under(KEY_A, db, make_app)
    amounts = []
    for day in (MONDAY, TUESDAY, WEDNESDAY, THURSDAY):
        if day == THURSDAY:
            switch(network, make_app(KEY_B, KEY_A))
        for hour in (7, 9, 11):
            network.ride("tram-1", APPROVED_PAN, local(hour, 0, day))
        network.close(day)
        amounts.append(db.exec(select(Charge.amount_minor).where(Charge.service_day == day)).one())
    assert amounts == [390, 390, 390, 30]


def test_no_card_number_reaches_the_links_or_the_logs(
    db: Session, make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    pans = [with_luhn("497010918273645"), with_luhn("535522736451829")]
    network = start_under(KEY_A, db, make_app)
    caplog.set_level(logging.DEBUG)
    for pan in pans:
        network.ride("tram-1", pan, local(8, 0, MONDAY))
    switch(network, make_app(KEY_B, KEY_A))
    for pan in pans:
        network.ride("tram-1", pan, local(8, 0, TUESDAY))
    assert len(links(db)) == 4

    dump = " ".join(
        str(value)
        for table in SQLModel.metadata.sorted_tables
        for row in db.execute(table.select()).all()
        for value in row
    )
    for pan in pans:
        for text in (dump, caplog.text):
            assert pan not in text
            assert pan[4:-2] not in text


def test_previous_token_keys_are_checked_like_every_secret(tmp_path: Any) -> None:
    def given_keys(previous: str, **more: Any) -> Settings:
        return Settings(
            data_dir=tmp_path,
            card_token_key="c" * 43,
            card_token_previous_keys=previous,
            **more,
        )

    for bad in ("tok-a", "tok-a=changeme", "tok-a=short", "tok-1=" + "a" * 43, "a:b=" + "a" * 43):
        with pytest.raises(SettingsError) as raised:
            resolve_secrets(given_keys(bad))
        assert "TICKETING_CARD_TOKEN_PREVIOUS_KEYS" in str(raised.value)
        assert "a" * 43 not in str(raised.value)
    ring = resolve_secrets(given_keys(f"tok-a={'a' * 43}, tok-0={'z' * 43}"))
    assert ring.card_token_previous_keys is not None
    # In production the deny-list key must be pinned before a rotation starts.
    production = {"env": "production", "jwt_secret": "j" * 43, "card_key_encryption_key": "e" * 43}
    with pytest.raises(SettingsError, match="TICKETING_CARD_DENY_LIST_KEY"):
        resolve_secrets(given_keys(f"tok-a={'a' * 43}", **production))
    resolve_secrets(given_keys(f"tok-a={'a' * 43}", card_deny_list_key="d" * 43, **production))


# Replaying after rotation, as a property: the same batch again, or the same cards in a
# new batch, links nothing more and answers the same.

CARD_KEYS = CardKeys()
RING_A = KeyRing(key_of(KEY_A))
RING_B = KeyRing(key_of(KEY_B), (key_of(KEY_A),))
DEVICE_KEY = TokenKey("dl-1", b"d" * 32)


def _tap(pan: str, at: datetime) -> dict[str, Any]:
    return {
        "tap_id": str(uuid.uuid4()),
        "occurred_at": at.isoformat(),
        "kind": "tap_in",
        "card": {"kid": CARD_KEYS.kid, "sealed": CARD_KEYS.seal_card(pan)},
    }


def _ingest(
    db: Session, device: Device, taps: list[dict[str, Any]], ring: KeyRing
) -> list[TapResult]:
    return ingest(
        db,
        device=device,
        raw_taps=taps,
        keys=IntakeKeys(CARD_KEYS.keys, ring, DEVICE_KEY),
        service_day_of=lambda moment: moment.date(),
        now=utc_now(),
    )


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cards=st.integers(1, 5),
    seen_before=st.sets(st.integers(0, 4)),
    denied=st.sets(st.integers(0, 4)),
    order=st.randoms(use_true_random=False),
)
def test_replaying_taps_after_rotation_changes_nothing(
    db: Session,
    device: TestDevice,
    cards: int,
    seen_before: set[int],
    denied: set[int],
    order: Any,
) -> None:
    row = db.get(Device, device.device_id)
    assert row is not None
    prefix = f"{uuid.uuid4().int % 10**9:09d}"  # fresh cards for each example
    pans = [with_luhn(f"4{prefix}{n:05d}") for n in range(cards)]
    at = datetime(2026, 11, 23, 8, tzinfo=UTC)
    known = [pans[n] for n in sorted(seen_before) if n < cards]
    if known:
        _ingest(db, row, [_tap(pan, at) for pan in known], RING_A)
    for n in sorted(denied):
        if n < cards and pans[n] in known:
            denylist.deny(db, token(pans[n], KEY_A), reason="debt", now=utc_now())
    mine = [token(pan, KEY_B) for pan in pans] + [token(pan, KEY_A) for pan in pans]

    def linked() -> list[tuple[str, str, str | None]]:
        return [link for link in links(db) if link[0] in mine]

    batch = [_tap(pan, at + timedelta(days=1)) for pan in pans]
    first = _ingest(db, row, batch, RING_B)
    links_after_first = linked()
    replayed = _ingest(db, row, batch, RING_B)
    shuffled = [_tap(pan, at + timedelta(days=1, hours=2)) for pan in pans]
    order.shuffle(shuffled)
    again = _ingest(db, row, shuffled, RING_B)

    assert [(r.decision, r.reason) for r in replayed] == [(r.decision, r.reason) for r in first]
    assert {r.status for r in replayed} == {"duplicate"}
    by_tap = {t["card"]["sealed"]: r for t, r in zip(shuffled, again, strict=True)}
    assert len(by_tap) == len(pans)
    assert sorted((r.decision, r.reason) for r in again) == sorted(
        (r.decision, r.reason) for r in first
    )
    assert linked() == links_after_first
    # One link per card seen under A; none for a card A never saw.
    new_links = [link for link in links_after_first if link[2] is not None]
    assert sorted(t for t, _, _ in new_links) == sorted(token(pan, KEY_B) for pan in known)
    for pan, result in zip(pans, first, strict=True):
        owes = pan in known and pans.index(pan) in denied
        assert (result.reason == "deny_list") is owes
    assert db.execute(sa.select(sa.func.count()).select_from(Card)).scalar_one() >= len(pans)
