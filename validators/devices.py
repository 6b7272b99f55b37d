"""The device registry and device authentication (EdDSA JWTs signed by the device key).

A device proves itself with a short-lived JWT signed by its own Ed25519 key: `iss` is the
device id, `aud` "ticketing-devices", `exp` at most five minutes after `iat`, and a `jti`
used once. Used jtis are kept in the database so a replay is refused by every worker.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy import delete
from sqlmodel import Session, col

from validators.errors import Conflict, InvalidDeviceToken, InvalidRequest, NotFound
from validators.insert import insert_ignoring_conflicts
from validators.store import Device, DeviceTokenUse

AUDIENCE = "ticketing-devices"
MAX_LIFETIME = timedelta(minutes=5)
CLOCK_LEEWAY = timedelta(seconds=30)


class DeviceKind(StrEnum):
    bus = "bus"
    tram = "tram"
    bike_dock = "bike_dock"
    parking_gate = "parking_gate"


@dataclass(frozen=True, slots=True)
class NewDevice:
    device_id: str
    operator_id: str
    kind: DeviceKind
    public_key_pem: str
    route_id: str | None = None
    stop_id: str | None = None
    facility_id: str | None = None


def parse_public_key(pem: str) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise InvalidRequest("public_key is not a PEM public key.") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidRequest("public_key must be an Ed25519 key.")
    return key


def register(session: Session, new: NewDevice, *, now: datetime) -> Device:
    parse_public_key(new.public_key_pem)
    if session.get(Device, new.device_id) is not None:
        raise Conflict(f"Device {new.device_id} is already registered.")
    device = Device(
        device_id=new.device_id,
        operator_id=new.operator_id,
        kind=new.kind.value,
        route_id=new.route_id,
        stop_id=new.stop_id,
        facility_id=new.facility_id,
        public_key_pem=new.public_key_pem.strip(),
        created_at=now,
    )
    session.add(device)
    session.flush()
    return device


def revoke(session: Session, device_id: str, *, now: datetime) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"No device {device_id}.")
    if device.status != "revoked":
        device.status = "revoked"
        device.revoked_at = now
        session.add(device)
        session.flush()
    return device


def authenticate(session: Session, token: str, *, now: datetime) -> Device:
    """The device that signed `token`, or InvalidDeviceToken (401)."""
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise InvalidDeviceToken("The device token is not a JWT.") from exc
    # Only EdDSA: "none" and HS256-keyed-with-the-public-key are refused before any check.
    if header.get("alg") != "EdDSA":
        raise InvalidDeviceToken("Device tokens must be signed with EdDSA.")
    device_id = unverified.get("iss")
    device = session.get(Device, device_id) if isinstance(device_id, str) else None
    if device is None or device.status != "active":
        raise InvalidDeviceToken("Unknown or revoked device.")
    try:
        claims = jwt.decode(
            token,
            parse_public_key(device.public_key_pem),
            algorithms=["EdDSA"],
            audience=AUDIENCE,
            issuer=device.device_id,
            leeway=CLOCK_LEEWAY,
            options={"require": ["iss", "aud", "iat", "exp", "jti"]},
        )
    except jwt.InvalidTokenError as exc:
        raise InvalidDeviceToken(f"The device token is not valid: {exc}.") from exc
    issued = datetime.fromtimestamp(claims["iat"], UTC)
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    if issued > now + CLOCK_LEEWAY:
        raise InvalidDeviceToken("The device token is issued in the future.")
    if expires - issued > MAX_LIFETIME:
        raise InvalidDeviceToken("Device tokens may live at most 5 minutes.")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 1 <= len(jti) <= 128:
        raise InvalidDeviceToken("The device token's jti must be a string of 1 to 128 chars.")
    _use_jti(session, jti=jti, device_id=device.device_id, expires_at=expires, now=now)
    return device


def _use_jti(
    session: Session, *, jti: str, device_id: str, expires_at: datetime, now: datetime
) -> None:
    # jtis are scoped by device so one device cannot burn another's ids.
    key = f"{device_id}:{jti}"
    inserted = insert_ignoring_conflicts(
        session,
        DeviceTokenUse,
        [{"jti": key, "device_id": device_id, "expires_at": expires_at + CLOCK_LEEWAY}],
        conflict_column="jti",
        returning="jti",
    )
    if not inserted:
        raise InvalidDeviceToken("This device token was already used.")
    # Forget what can no longer be replayed. Once in a hundred requests is enough to keep
    # the table small, and spares the other 99 a statement.
    if secrets.randbelow(100) == 0:
        session.execute(
            delete(DeviceTokenUse).where(col(DeviceTokenUse.expires_at) < now - MAX_LIFETIME)
        )
