"""Admin device registry, card keys and their rotation, and the deny list for devices."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from tests.validators.devices import TestDevice, sealed_card, tap
from validators import cardkeys, denylist
from validators.schema import utc_now
from validators.store import Tap
from validators.tokens import TokenKey, tokenize

Headers = Callable[[str], dict[str, str]]


def test_admins_register_devices_and_others_may_not(
    client: TestClient, auth_headers: Headers
) -> None:
    body = TestDevice(device_id="bus-7", operator_id="divia-bus", kind="bus").registration()

    assert client.post("/v1/admin/devices", json=body).status_code == 401
    forbidden = client.post("/v1/admin/devices", json=body, headers=auth_headers("rider"))
    assert forbidden.status_code == 403
    assert forbidden.json()["error"] == "forbidden"

    created = client.post("/v1/admin/devices", json=body, headers=auth_headers("admin"))
    assert created.status_code == 201
    assert created.json()["status"] == "active"
    again = client.post("/v1/admin/devices", json=body, headers=auth_headers("admin"))
    assert again.status_code == 409


def test_a_device_with_a_non_ed25519_key_is_refused(
    client: TestClient, auth_headers: Headers
) -> None:
    body = TestDevice().registration() | {"public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n"}
    response = client.post("/v1/admin/devices", json=body, headers=auth_headers("admin"))
    assert response.status_code == 422
    assert "PEM" in response.json()["detail"]


def test_revoking_shuts_the_device_out(
    client: TestClient, auth_headers: Headers, device: TestDevice
) -> None:
    revoked = client.post(
        f"/v1/admin/devices/{device.device_id}/revoke", headers=auth_headers("admin")
    )
    assert revoked.json()["status"] == "revoked"
    response = client.post(
        "/v1/devices/taps", json={"taps": [tap(sealed_card(client))]}, headers=device.headers()
    )
    assert response.status_code == 401


def test_card_keys_rotate_without_breaking_envelopes_sealed_before(
    db: Session, client: TestClient, device: TestDevice
) -> None:
    before = sealed_card(client)
    ctx = client.app.state.validators  # type: ignore[attr-defined]
    cardkeys.rotate(db, wrapper=ctx.key_wrapper, now=utc_now())
    db.commit()
    ctx.opening_keys.invalidate()

    published = client.get("/v1/devices/card-keys").json()["keys"]
    assert [k["kid"] for k in published] != [before["kid"]]
    assert published[0]["suite"] == "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM"
    after = sealed_card(client)
    results = client.post(
        "/v1/devices/taps",
        json={"taps": [tap(before), tap(after)]},
        headers=device.headers(),
    ).json()["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted"]

    cardkeys.retire(db, kid=before["kid"], now=utc_now())
    db.commit()
    ctx.opening_keys.invalidate()
    [retired] = client.post(
        "/v1/devices/taps", json={"taps": [tap(before)]}, headers=device.headers()
    ).json()["results"]
    assert (retired["status"], retired["reason"]) == ("rejected", "unknown_kid")


def test_devices_get_deny_list_deltas_they_can_check_offline(
    db: Session, client: TestClient, device: TestDevice
) -> None:
    client.post(
        "/v1/devices/taps", json={"taps": [tap(sealed_card(client))]}, headers=device.headers()
    )
    token = db.exec(select(Tap.card_token)).one()
    assert token is not None
    denylist.deny(db, token, reason="declined", now=datetime.now(UTC))
    db.commit()

    first = client.get("/v1/devices/deny-list", headers=device.headers()).json()
    assert [c["action"] for c in first["changes"]] == ["add"]
    version = first["version"]
    # The device recomputes the hash from the card it reads, with the key it was given.
    key = base64.urlsafe_b64decode(first["hash_key"] + "=" * (-len(first["hash_key"]) % 4))
    assert first["changes"][0]["device_hash"] == tokenize(
        "4111111111111111", TokenKey(first["hash_key_id"], key)
    )

    denylist.allow(db, token, reason="debt_paid", now=datetime.now(UTC))
    db.commit()
    delta = client.get(f"/v1/devices/deny-list?since={version}", headers=device.headers()).json()
    assert [c["action"] for c in delta["changes"]] == ["remove"]
    assert delta["version"] > version
    nothing = client.get(
        f"/v1/devices/deny-list?since={delta['version']}", headers=device.headers()
    ).json()
    assert nothing["changes"] == [] and nothing["version"] == delta["version"]
