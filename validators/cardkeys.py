"""The X25519 keys that open card envelopes: generation, rotation, retirement.

Private keys are stored in the database wrapped (AES-256-GCM) under a key-encryption key
from the settings, so every worker process and machine opens the same envelopes, a
database dump alone opens none, and rotating is one command with no restart:
- `rotate`: a new key becomes the one published; the previous ones stop being published
  but still open envelopes, for validators that have not fetched the new key yet;
- `retire`: a key opens nothing any more.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import Session, col, select

from validators.card import CARD_SUITE_NAME
from validators.errors import Conflict, NotFound
from validators.sealing import public_key_b64url
from validators.store import CardKey

SUITE = CARD_SUITE_NAME
ACTIVE = "active"
DECRYPT_ONLY = "decrypt_only"
RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class KeyWrapper:
    """AES-GCM under a key derived from the configured secret; the kid is bound as AAD."""

    secret: bytes = field(repr=False)

    def _aead(self) -> AESGCM:
        return AESGCM(hmac.digest(self.secret, b"ticketing card key wrap v1", hashlib.sha256))

    def wrap(self, kid: str, private_key: X25519PrivateKey) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead().encrypt(nonce, private_key.private_bytes_raw(), kid.encode())

    def unwrap(self, kid: str, wrapped: bytes) -> X25519PrivateKey:
        try:
            raw = self._aead().decrypt(wrapped[:12], wrapped[12:], kid.encode())
        except InvalidTag as exc:
            raise ValueError(
                f"card key {kid} does not open with TICKETING_CARD_KEY_ENCRYPTION_KEY"
            ) from exc
        return X25519PrivateKey.from_private_bytes(raw)


def new_kid(now: datetime) -> str:
    return f"card-{now:%Y%m%d}-{os.urandom(3).hex()}"


def rotate(session: Session, *, wrapper: KeyWrapper, now: datetime) -> CardKey:
    """Publish a new key; keys published so far keep opening envelopes until retired."""
    for key in session.exec(select(CardKey).where(CardKey.status == ACTIVE)):
        key.status = DECRYPT_ONLY
        session.add(key)
    private_key = X25519PrivateKey.generate()
    kid = new_kid(now)
    key = CardKey(
        kid=kid,
        public_key=public_key_b64url(private_key.public_key()),
        wrapped_private_key=wrapper.wrap(kid, private_key),
        status=ACTIVE,
        created_at=now,
    )
    session.add(key)
    session.flush()
    return key


def retire(session: Session, *, kid: str, now: datetime) -> CardKey:
    key = session.get(CardKey, kid)
    if key is None:
        raise NotFound(f"No card key {kid}.")
    if key.status == ACTIVE:
        raise Conflict(f"Card key {kid} is the published one: rotate before retiring it.")
    key.status = RETIRED
    key.retired_at = now
    session.add(key)
    session.flush()
    return key


def ensure_key(session: Session, *, wrapper: KeyWrapper, now: datetime) -> None:
    """A fresh installation gets its first key, so devices have something to seal to."""
    if session.exec(select(CardKey.kid).where(CardKey.status == ACTIVE)).first() is None:
        rotate(session, wrapper=wrapper, now=now)


def published(session: Session) -> list[CardKey]:
    return list(
        session.exec(
            select(CardKey).where(CardKey.status == ACTIVE).order_by(col(CardKey.created_at))
        )
    )


class OpeningKeys:
    """The private keys that open envelopes now, cached briefly per process.

    Intake needs them on every request; a few seconds of cache spares a query per batch,
    and bounds how long a retired key keeps working in a worker that cached it.
    """

    def __init__(self, wrapper: KeyWrapper, ttl_s: float = 5.0) -> None:
        self._wrapper = wrapper
        self._ttl_s = ttl_s
        self._keys: dict[str, X25519PrivateKey] = {}
        self._loaded_at = float("-inf")

    def get(self, session: Session) -> Mapping[str, X25519PrivateKey]:
        if time.monotonic() - self._loaded_at > self._ttl_s:
            rows = session.exec(select(CardKey).where(CardKey.status != RETIRED)).all()
            self._keys = {
                row.kid: self._wrapper.unwrap(row.kid, row.wrapped_private_key) for row in rows
            }
            self._loaded_at = time.monotonic()
        return self._keys

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")


def all_keys(session: Session) -> list[CardKey]:
    return list(session.exec(select(CardKey).order_by(col(CardKey.created_at))))
