"""Device tokens: only a fresh EdDSA JWT signed by a registered, active device gets in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.validators.devices import TestDevice, public_pem, sealed_card, tap
from validators import devices
from validators.schema import utc_now


def post(client: TestClient, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.post(
        "/v1/devices/taps", json={"taps": [body]}, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, response.json()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(device: TestDevice) -> dict[str, Any]:
    return dict(jwt.decode(device.token(), options={"verify_signature": False}))


def unsigned(claims: dict[str, Any]) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def hs256_with_public_key(device: TestDevice) -> str:
    """The algorithm-confusion attack: HMAC keyed with the (public) verification key."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{b64(json.dumps(claims_of(device)).encode())}"
    mac = hmac.digest(public_pem(device.key).encode(), signing_input.encode(), hashlib.sha256)
    return f"{signing_input}.{b64(mac)}"


def test_a_fresh_token_gets_in_and_cannot_be_used_twice(
    client: TestClient, device: TestDevice
) -> None:
    token = device.token()
    assert post(client, token, tap(sealed_card(client)))[0] == 200

    status, body = post(client, token, tap(sealed_card(client)))

    assert status == 401
    assert body["error"] == "invalid_device_token"
    assert "already used" in body["detail"]


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(
            lambda d: TestDevice(key=Ed25519PrivateKey.generate()).token(), id="other-key"
        ),
        pytest.param(lambda d: d.token(aud="someone-else"), id="audience"),
        pytest.param(lambda d: d.token(lifetime=timedelta(minutes=-1)), id="expired"),
        pytest.param(lambda d: d.token(lifetime=timedelta(minutes=30)), id="lives-too-long"),
        pytest.param(
            lambda d: d.token(iat=int((utc_now() + timedelta(hours=1)).timestamp())), id="future"
        ),
        pytest.param(lambda d: TestDevice(device_id="bus-999").token(), id="unknown-device"),
        pytest.param(lambda d: unsigned(claims_of(d)), id="alg-none"),
        pytest.param(hs256_with_public_key, id="hs256-with-public-key"),
        pytest.param(lambda d: "garbage", id="not-a-jwt"),
    ],
)
def test_bad_device_tokens_are_refused(
    client: TestClient, device: TestDevice, make_token: Any
) -> None:
    status, body = post(client, make_token(device), tap(None, kind="bike_return", bike_id="B1"))
    assert status == 401
    assert body["error"] == "invalid_device_token"


def test_no_token_is_refused(client: TestClient, device: TestDevice) -> None:
    response = client.post("/v1/devices/taps", json={"taps": [tap(None)]})
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_a_revoked_device_is_refused(db: Session, client: TestClient, device: TestDevice) -> None:
    devices.revoke(db, device.device_id, now=utc_now())
    db.commit()
    status, body = post(client, device.token(), tap(sealed_card(client)))
    assert status == 401
    assert body["detail"] == "Unknown or revoked device."
