"""The device side of the card envelope: what a validator does before posting a tap.

Used by tests, the simulator and the benchmarks; the backend never seals. It builds the
EMV TLV a card reader would hand over and seals it to a published card key (DESIGN 4.4).
It encodes what it is given without judging it (a Luhn-invalid or 20-digit PAN seals
fine), so tests can build every kind of bad card.
"""

from __future__ import annotations

import calendar
import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import date

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from validators.card import CARD_HPKE_INFO, CARD_HPKE_SUITE

_DIGITS = re.compile(r"[0-9]+")
_YYMM = re.compile(r"[0-9]{4}")


def encode_tlv(tag: str, value: bytes) -> bytes:
    """One BER-TLV object: `tag` in hex ("5F24"), the shortest length form, the value."""
    length = len(value)
    if length < 0x80:
        length_bytes = bytes([length])
    else:
        size = (length.bit_length() + 7) // 8
        if size > 3:
            raise ValueError("a TLV value is at most 16 MiB")
        length_bytes = bytes([0x80 | size]) + length.to_bytes(size, "big")
    return bytes.fromhex(tag) + length_bytes + value


def bcd_pan(pan: str) -> bytes:
    """The PAN in BCD, one digit per nibble, an odd length padded with F (EMV tag 5A)."""
    if not _DIGITS.fullmatch(pan):
        raise ValueError("a PAN is ASCII digits")
    return bytes.fromhex(pan + "F" * (len(pan) % 2))


def bcd_expiry(expiry: str | date) -> bytes:
    """Tag 5F24 (YYMMDD). "YYMM" gives the month's last day, as cards do; a date is kept."""
    if isinstance(expiry, date):
        return bytes.fromhex(expiry.strftime("%y%m%d"))
    if not _YYMM.fullmatch(expiry):
        raise ValueError("expiry is a date or 'YYMM'")
    year, month = 2000 + int(expiry[:2]), int(expiry[2:])
    last_day = calendar.monthrange(year, month)[1]
    return bytes.fromhex(f"{expiry}{last_day:02d}")


def build_card_tlv(
    pan: str,
    expiry: str | date,
    *,
    atc: int | None = None,
    par: str | None = None,
    aid: str | None = None,
    pan_sequence: int | None = None,
    cryptogram: bytes | None = None,
    template: str | None = "70",
) -> bytes:
    """The EMV data a reader sends for one tap, wrapped in `template` (70, a READ RECORD
    response, by default; None for a flat list of objects). `aid` is hex ("A0000000031010").
    """
    parts = [encode_tlv("5A", bcd_pan(pan)), encode_tlv("5F24", bcd_expiry(expiry))]
    if pan_sequence is not None:
        parts.append(encode_tlv("5F34", bytes.fromhex(f"{pan_sequence:02d}")))
    if atc is not None:
        parts.append(encode_tlv("9F36", atc.to_bytes(2, "big")))
    if cryptogram is not None:
        parts.append(encode_tlv("9F26", cryptogram))
    if par is not None:
        parts.append(encode_tlv("9F24", par.encode("ascii")))
    if aid is not None:
        parts.append(encode_tlv("4F", bytes.fromhex(aid)))
    body = b"".join(parts)
    return body if template is None else encode_tlv(template, body)


def seal(tlv: bytes, public_key: X25519PublicKey | bytes) -> str:
    """HPKE-seal card data to a card key: base64url of `enc || ciphertext`, no padding."""
    if isinstance(public_key, bytes):
        public_key = X25519PublicKey.from_public_bytes(public_key)
    sealed = CARD_HPKE_SUITE.encrypt(tlv, public_key, info=CARD_HPKE_INFO)
    return urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")


def generate_card_keypair() -> tuple[X25519PrivateKey, X25519PublicKey]:
    private_key = X25519PrivateKey.generate()
    return private_key, private_key.public_key()


def public_key_b64url(public_key: X25519PublicKey) -> str:
    """The raw 32-byte key in base64url without padding, as GET /v1/devices/card-keys
    publishes it."""
    return urlsafe_b64encode(public_key.public_bytes_raw()).rstrip(b"=").decode("ascii")


def public_key_from_b64url(text: str) -> X25519PublicKey:
    """The inverse of `public_key_b64url`, for a device that fetched the card keys."""
    raw = urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return X25519PublicKey.from_public_bytes(raw)
