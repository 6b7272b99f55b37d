"""Test cards: Luhn-valid PANs, a card key, and sealing in one call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import strategies as st

from validators.sealing import build_card_tlv, seal
from validators.simulation import luhn_complete
from validators.tokens import TokenKey

VISA = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"

TOKEN_KEY = TokenKey("t1", b"k" * 32)


def luhn_check_digit(body: str) -> str:
    return luhn_complete(body)[-1]


def with_luhn(body: str) -> str:
    return luhn_complete(body)


def luhn_pans(min_digits: int = 13, max_digits: int = 19) -> st.SearchStrategy[str]:
    return st.integers(min_digits - 1, max_digits - 1).flatmap(
        lambda n: st.text("0123456789", min_size=n, max_size=n).map(with_luhn)
    )


@dataclass
class CardKeys:
    kid: str = "c1"
    private_key: X25519PrivateKey = field(default_factory=X25519PrivateKey.generate)

    @property
    def keys(self) -> Mapping[str, X25519PrivateKey]:
        return {self.kid: self.private_key}

    def seal_tlv(self, tlv: bytes) -> str:
        return seal(tlv, self.private_key.public_key())

    def seal_card(
        self,
        pan: str = VISA,
        expiry: str | date = "3012",
        *,
        atc: int | None = None,
        par: str | None = None,
        aid: str | None = None,
        pan_sequence: int | None = None,
    ) -> str:
        tlv = build_card_tlv(pan, expiry, atc=atc, par=par, aid=aid, pan_sequence=pan_sequence)
        return self.seal_tlv(tlv)
