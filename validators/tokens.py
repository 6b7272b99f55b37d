"""Card tokens: a keyed hash of the PAN that stands for the card everywhere (PCI DSS 3.5.1.1).

A token is `"{kid}:{mac}"`, where `mac` is HMAC-SHA256(secret, PAN digits as ASCII) in
base64url without padding (43 characters). The key id is part of the token, not only a
column beside it, so that:
- a token names the key that made it, and two tokens under different keys can never be
  mistaken for one another (or collide in a unique index) even where only the token is kept
  (idempotency keys, logs, the deny list sent to devices);
- it stays short: base64url is 43 characters where hex would be 64.

A token cannot be turned back into a PAN, and cannot be re-derived under a new key without
the PAN. Rotation therefore works forward: taps are tokenized under the current key, and
while older keys are still in the `KeyRing`, the card module also computes the card's
tokens under them so the store can link old and new tokens of one card.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field

MIN_SECRET_BYTES = 32
"""HMAC-SHA256 keys shorter than the hash output weaken it (RFC 2104 section 3)."""

_KID = re.compile(r"[A-Za-z0-9_-]{1,32}")
"""Key ids cannot contain ":", so the token's first ":" always ends the kid."""

_PAN = re.compile(r"[0-9]{12,19}")


@dataclass(frozen=True, slots=True)
class TokenKey:
    kid: str
    secret: bytes = field(repr=False)  # never in a repr, a log line or a traceback

    def __post_init__(self) -> None:
        if not _KID.fullmatch(self.kid):
            raise ValueError("kid must be 1 to 32 characters of A-Z, a-z, 0-9, '_' or '-'")
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ValueError(f"token secret must be at least {MIN_SECRET_BYTES} bytes")


def tokenize(pan_digits: str, key: TokenKey) -> str:
    """The token of a PAN under `key`. Deterministic: the same card always gives the same
    token under the same key."""
    if not _PAN.fullmatch(pan_digits):
        # The message must not echo the argument: it may be a PAN.
        raise ValueError("a PAN is 12 to 19 ASCII digits")
    mac = hmac.digest(key.secret, pan_digits.encode("ascii"), hashlib.sha256)
    return f"{key.kid}:{urlsafe_b64encode(mac).rstrip(b'=').decode('ascii')}"


def token_kid(token: str) -> str:
    """The key id a token was made under."""
    kid, sep, _ = token.partition(":")
    if not sep or not _KID.fullmatch(kid):
        raise ValueError("not a card token")
    return kid


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The current token key plus older keys still honoured for linking tokens.

    Retire an old key (drop it from `previous`) once its cryptoperiod has ended and every
    card seen under it has been seen, or given up on, under the current key.
    """

    current: TokenKey
    previous: tuple[TokenKey, ...] = ()

    def __post_init__(self) -> None:
        kids = [self.current.kid, *(key.kid for key in self.previous)]
        if len(set(kids)) != len(kids):
            raise ValueError("key ids in a key ring must be unique")

    @property
    def keys(self) -> tuple[TokenKey, ...]:
        """Every key, the current one first."""
        return (self.current, *self.previous)


def tokens_under_all_keys(pan_digits: str, ring: KeyRing) -> tuple[str, ...]:
    """The PAN's token under every key of the ring, the current key's first."""
    return tuple(tokenize(pan_digits, key) for key in ring.keys)
