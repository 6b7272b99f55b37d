"""Opening a card envelope: HPKE decryption, EMV data, PAN checks, the card token.

This is the only module where a PAN exists in readable form (DESIGN section 3), and only
in local variables for the time it takes to check and tokenize it. What leaves the module
is a `CardRead` (token, BIN, last 4, expiry month, scheme, PAR...) or a `CardRejected`
whose reason and detail never contain card data.

Envelope (DESIGN section 4.4): `sealed` is base64url (padding optional) of the RFC 9180
base-mode single-shot output `enc || ciphertext`, suite DHKEM(X25519, HKDF-SHA256),
HKDF-SHA256, AES-128-GCM, info `b"ticketing card v1"`, empty AAD. The plaintext is BER-TLV
with at least 5A (PAN) and 5F24 (expiry).

An expired card is not rejected: the card is real and identified, and the tap is accepted
and then denied (the caller decides, from `CardRead.expired`). Rejection means the tap
cannot be tied to a valid card at all.
"""

from __future__ import annotations

import binascii
import re
from base64 import urlsafe_b64decode
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import ClassVar, Literal, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from validators.schemes import Scheme, detect_scheme
from validators.tlv import MAX_INPUT_BYTES, TlvError, parse_tlv
from validators.tokens import KeyRing, TokenKey, tokenize

CARD_HPKE_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_128_GCM)
CARD_HPKE_INFO = b"ticketing card v1"
CARD_SUITE_NAME = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM"
"""The `suite` string published by GET /v1/devices/card-keys."""

_ENC_BYTES = 32  # X25519 public key
_AEAD_TAG_BYTES = 16  # AES-GCM tag
MIN_SEALED_BYTES = _ENC_BYTES + _AEAD_TAG_BYTES
MAX_SEALED_BYTES = _ENC_BYTES + MAX_INPUT_BYTES + _AEAD_TAG_BYTES
# Checked on the text before decoding, so an oversized body costs a len() and nothing more.
_MAX_SEALED_CHARS = (MAX_SEALED_BYTES + 2) // 3 * 4
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")

MIN_PAN_DIGITS = 12
MAX_PAN_DIGITS = 19

RejectReason = Literal[
    "envelope_malformed",  # not base64url, too short or too long
    "unknown_kid",  # no card key with this kid
    "envelope_not_opened",  # HPKE decryption failed: wrong key, tampered, or not ours
    "tlv_malformed",  # the plaintext is not BER-TLV
    "pan_missing",  # no tag 5A
    "pan_malformed",  # 5A is not 12-19 BCD digits with trailing F padding
    "pan_luhn",  # the PAN fails the Luhn check
    "expiry_missing",  # no tag 5F24
    "expiry_malformed",  # 5F24 is not a BCD YYMMDD date
    "field_malformed",  # an optional tag (4F, 5F34, 9F24, 9F36) has the wrong shape
]


class CardRejected(Exception):
    """The envelope cannot be tied to a valid card. `reason` is a stable snake_case code;
    `detail` is a sentence for people. Neither ever contains card data.

    `code` and `kind` follow the shape the shell's error map reads, so a rejection raised
    from a rider endpoint (card registration) renders as a 422 with `error` = the reason.
    """

    kind: ClassVar[str] = "invalid"

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: RejectReason = reason
        self.detail = detail

    @property
    def code(self) -> str:
        return self.reason


@dataclass(frozen=True, slots=True)
class CardRead:
    """What the backend may keep of a card (PCI DSS 3.4.1/3.5.1): never the PAN.

    `expiry_month` is the first day of the expiry month as a `date` (a typed value that a
    `date` column stores as is); the card is valid through the last day of that month.
    `previous_tokens` are the card's tokens under the older keys of a `KeyRing`, to link
    them with `token` during a key rotation; empty when a single `TokenKey` was given.
    """

    token: str
    token_kid: str
    bin6: str
    last4: str
    expiry_month: date
    scheme: Scheme
    par: str | None
    atc: int | None
    pan_sequence: str | None
    expired: bool
    previous_tokens: tuple[str, ...] = ()
    # The card's hash under the deny-list key validators hold (see validators.denylist);
    # empty when no device key was given.
    device_hash: str = ""


def open_card(
    sealed: str,
    *,
    kid: str,
    keys: Mapping[str, X25519PrivateKey],
    occurred_at: datetime,
    token_key: TokenKey | KeyRing,
    device_key: TokenKey | None = None,
) -> CardRead:
    """Open a `{"kid", "sealed"}` card envelope and read the card it carries.

    Raises `CardRejected` when the envelope cannot be tied to a valid card. `expired` is
    judged in UTC: the card is expired from 00:00 UTC on the first day of the month after
    its expiry month. (Cards carry no time zone; UTC keeps the decision the same on every
    server, and the issuer has the final word in the deferred authorization anyway.)
    """
    if occurred_at.utcoffset() is None:
        raise ValueError("occurred_at must be timezone-aware")
    # The plaintext goes straight into `_read_card` and is never a local here, and
    # `_read_card` returns its rejection rather than raising it: a raised exception keeps
    # its traceback's frames alive, and error reporters that capture frame locals would
    # otherwise see the PAN. The frames a rejection carries hold no card data.
    outcome = _read_card(_decrypt(sealed, kid, keys), occurred_at, token_key, device_key)
    if isinstance(outcome, CardRejected):
        raise outcome
    return outcome


def _decrypt(sealed: str, kid: str, keys: Mapping[str, X25519PrivateKey]) -> bytes:
    private_key = keys.get(kid) if isinstance(kid, str) else None
    if private_key is None:
        raise CardRejected("unknown_kid", "no card key has this kid")
    if not isinstance(sealed, str) or len(sealed) > _MAX_SEALED_CHARS:
        raise CardRejected("envelope_malformed", "the sealed card is not a string of sane size")
    if not _BASE64URL.fullmatch(sealed):
        raise CardRejected("envelope_malformed", "the sealed card is not base64url")
    unpadded = sealed.rstrip("=")
    try:
        ciphertext = urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))
    except binascii.Error:
        raise CardRejected("envelope_malformed", "the sealed card is not base64url") from None
    if len(ciphertext) < MIN_SEALED_BYTES:
        raise CardRejected("envelope_malformed", "the sealed card is too short for HPKE")
    try:
        return CARD_HPKE_SUITE.decrypt(ciphertext, private_key, info=CARD_HPKE_INFO)
    except (InvalidTag, ValueError):
        raise CardRejected(
            "envelope_not_opened", "the sealed card does not open with this kid's key"
        ) from None


def _read_card(
    plaintext: bytes,
    occurred_at: datetime,
    token_key: TokenKey | KeyRing,
    device_key: TokenKey | None = None,
) -> CardRead | CardRejected:
    try:
        fields = parse_tlv(plaintext)
    except TlvError as exc:
        return CardRejected("tlv_malformed", f"the card data is not BER-TLV ({exc.reason})")

    raw_pan = fields.get("5A")
    if raw_pan is None:
        return CardRejected("pan_missing", "the card data has no PAN (tag 5A)")
    # BCD: one digit per nibble; F nibbles pad the end of an odd-length PAN.
    pan = raw_pan.hex().rstrip("f")
    if not pan.isdigit():
        return CardRejected("pan_malformed", "the PAN (tag 5A) is not BCD digits")
    if not MIN_PAN_DIGITS <= len(pan) <= MAX_PAN_DIGITS:
        return CardRejected(
            "pan_malformed",
            f"the PAN (tag 5A) has {len(pan)} digits, not {MIN_PAN_DIGITS} to {MAX_PAN_DIGITS}",
        )
    if not luhn_valid(pan):
        return CardRejected("pan_luhn", "the PAN (tag 5A) fails the Luhn check")

    raw_expiry = fields.get("5F24")
    if raw_expiry is None:
        return CardRejected("expiry_missing", "the card data has no expiry date (tag 5F24)")
    expiry_month = _expiry_month(raw_expiry)
    if expiry_month is None:
        return CardRejected("expiry_malformed", "the expiry date (tag 5F24) is not BCD YYMMDD")

    aid = fields.get("4F")
    if aid is not None and not 5 <= len(aid) <= 16:
        return CardRejected("field_malformed", "the AID (tag 4F) is not 5 to 16 bytes")
    pan_sequence = _optional_pan_sequence(fields.get("5F34"))
    if pan_sequence is False:
        return CardRejected("field_malformed", "the PAN sequence (tag 5F34) is not 2 BCD digits")
    atc_bytes = fields.get("9F36")
    if atc_bytes is not None and len(atc_bytes) != 2:
        return CardRejected("field_malformed", "the ATC (tag 9F36) is not 2 bytes")
    par = _optional_par(fields.get("9F24"))
    if par is False:
        return CardRejected("field_malformed", "the PAR (tag 9F24) is not 29 letters and digits")

    if isinstance(token_key, KeyRing):
        current = token_key.current
        previous = tuple(tokenize(pan, key) for key in token_key.previous)
    else:
        current = token_key
        previous = ()
    return CardRead(
        token=tokenize(pan, current),
        token_kid=current.kid,
        bin6=pan[:6],
        last4=pan[-4:],
        expiry_month=expiry_month,
        scheme=detect_scheme(aid, pan[:6]),
        par=par,
        atc=None if atc_bytes is None else int.from_bytes(atc_bytes, "big"),
        pan_sequence=pan_sequence,
        expired=occurred_at >= _first_instant_after(expiry_month),
        previous_tokens=previous,
        device_hash="" if device_key is None else tokenize(pan, device_key),
    )


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CardDetails:
    """The card as a processor needs it to register it (Stripe enrolment): the one value
    that carries the PAN out of this module, and only as far as the `use` callback of
    `with_card_details`. Never stored, never returned; `pan` is left out of `repr`."""

    token: str
    pan: str = field(repr=False)
    exp_month: int
    exp_year: int


def with_card_details(
    sealed: str,
    *,
    kid: str,
    keys: Mapping[str, X25519PrivateKey],
    token_key: TokenKey,
    use: Callable[[CardDetails], T],
) -> T:
    """Open an envelope kept sealed for enrolment, hand the card (PAN included) to `use`,
    and return what `use` returns, which must not be the details themselves.

    The PAN lives only for this call. Raises `CardRejected` when the envelope no longer
    opens or reads (its key retired, say), like `open_card`. An exception from `use` is
    re-raised with its traceback, and those of its causes, cleared: the frames between
    here and the failure (the processor's client building its request) hold the number.
    """
    details = _details(_decrypt(sealed, kid, keys), token_key)
    if isinstance(details, CardRejected):
        raise details
    try:
        return use(details)
    except Exception as exc:
        del details
        raise _without_frames(exc) from exc.__cause__


def _details(plaintext: bytes, token_key: TokenKey) -> CardDetails | CardRejected:
    # The same checks as a tap (Luhn, expiry shape...): an envelope that would have been
    # rejected at intake is rejected here too, never sent to a processor.
    checked = _read_card(plaintext, datetime.now(UTC), token_key)
    if isinstance(checked, CardRejected):
        return checked
    fields = parse_tlv(plaintext)
    return CardDetails(
        token=checked.token,
        pan=fields["5A"].hex().rstrip("f"),
        exp_month=checked.expiry_month.month,
        exp_year=checked.expiry_month.year,
    )


def _without_frames(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return exc


# Each digit at a doubled position, replaced by the digit sum of its double.
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of ASCII digits."""
    doubled = digits[-2::-2].translate(_LUHN_DOUBLED)
    return (sum(map(int, digits[-1::-2])) + sum(map(int, doubled))) % 10 == 0


def _expiry_month(raw: bytes) -> date | None:
    text = raw.hex()
    if len(raw) != 3 or not text.isdigit():
        return None
    month, day = int(text[2:4]), int(text[4:6])
    # The day is checked for shape only: cards write the last day of the month (or 01, or
    # 31 for a 30-day month), and validity runs to the end of the month whatever it says.
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    # Two-digit years are 20YY: a card is issued for at most a few years.
    return date(2000 + int(text[0:2]), month, 1)


def _first_instant_after(expiry_month: date) -> datetime:
    if expiry_month.month == 12:
        return datetime(expiry_month.year + 1, 1, 1, tzinfo=UTC)
    return datetime(expiry_month.year, expiry_month.month + 1, 1, tzinfo=UTC)


def _optional_pan_sequence(raw: bytes | None) -> str | Literal[False] | None:
    if raw is None:
        return None
    text = raw.hex()
    return text if len(raw) == 1 and text.isdigit() else False


def _optional_par(raw: bytes | None) -> str | Literal[False] | None:
    if raw is None:
        return None
    # EMVCo PAR: 29 alphanumeric characters (a 4-character BIN controller id + 25).
    if len(raw) != 29 or not raw.isascii() or not raw.isalnum():
        return False
    return raw.decode("ascii")
