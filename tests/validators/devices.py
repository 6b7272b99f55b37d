"""A test validator: its own Ed25519 key, device JWTs, and cards sealed to the server's key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlmodel import Session

from validators import devices
from validators.schema import utc_now
from validators.sealing import build_card_tlv, public_key_from_b64url, seal
from validators.store import Device

DEFAULT_DAY_TIME = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def public_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass
class TestDevice:
    __test__ = False  # not a test class, whatever its name says

    device_id: str = "tram-001"
    operator_id: str = "divia-tram"
    kind: str = "tram"
    route_id: str | None = "T1"
    stop_id: str | None = "GARE"
    facility_id: str | None = None
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)

    def registration(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "operator_id": self.operator_id,
            "kind": self.kind,
            "public_key": public_pem(self.key),
            "route_id": self.route_id,
            "stop_id": self.stop_id,
            "facility_id": self.facility_id,
        }

    def token(self, *, lifetime: timedelta = timedelta(minutes=2), **overrides: Any) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.device_id,
            "aud": "ticketing-devices",
            "iat": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        claims.update(overrides)
        return jwt.encode(claims, self.key, algorithm="EdDSA")

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token()}"}

    def register(self, session: Session) -> Device:
        """Registered straight in the database, as `ticketing devices add` does."""
        return devices.register(
            session,
            devices.NewDevice(
                device_id=self.device_id,
                operator_id=self.operator_id,
                kind=devices.DeviceKind(self.kind),
                public_key_pem=public_pem(self.key),
                route_id=self.route_id,
                stop_id=self.stop_id,
                facility_id=self.facility_id,
            ),
            now=utc_now(),
        )


def card_key(client: TestClient) -> tuple[str, bytes]:
    key = client.get("/v1/devices/card-keys").json()["keys"][0]
    return key["kid"], public_key_from_b64url(key["public_key"]).public_bytes_raw()


def sealed_card(
    client: TestClient, pan: str = "4111111111111111", expiry: str = "3012", **tlv: Any
) -> dict[str, str]:
    kid, public_key = card_key(client)
    return {"kid": kid, "sealed": seal(build_card_tlv(pan, expiry, **tlv), public_key)}


def tap(
    card: dict[str, str] | None,
    *,
    kind: str = "tap_in",
    at: datetime = DEFAULT_DAY_TIME,
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tap_id": str(uuid.uuid4()),
        "occurred_at": at.isoformat(),
        "kind": kind,
        **fields,
    }
    if card is not None:
        body["card"] = card
    return body
