from __future__ import annotations

import hashlib
import hmac
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from tests.validators.cards import AMEX, MASTERCARD, TOKEN_KEY, VISA, CardKeys, luhn_pans, with_luhn
from validators.card import (
    CARD_HPKE_SUITE,
    CardRead,
    CardRejected,
    luhn_valid,
    open_card,
)
from validators.schemes import Scheme, scheme_from_bin
from validators.sealing import bcd_pan, build_card_tlv, encode_tlv, public_key_b64url, seal
from validators.tokens import KeyRing, TokenKey, tokenize, tokens_under_all_keys

CARD = CardKeys()
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
PAR = "V0010013021234567890123456789"


def open_sealed(sealed: str, *, occurred_at: datetime = NOW, kid: str = CARD.kid) -> CardRead:
    return open_card(sealed, kid=kid, keys=CARD.keys, occurred_at=occurred_at, token_key=TOKEN_KEY)


def rejection(sealed: str, *, kid: str = CARD.kid) -> CardRejected:
    with pytest.raises(CardRejected) as caught:
        open_sealed(sealed, kid=kid)
    return caught.value


# --- what a valid card gives -------------------------------------------------------------


@given(luhn_pans(13, 19))
def test_any_luhn_valid_pan_round_trips_to_its_token(pan: str) -> None:
    card = open_sealed(CARD.seal_card(pan, "3012"))
    assert card.token == tokenize(pan, TOKEN_KEY)
    assert card.token_kid == "t1"
    assert card.bin6 == pan[:6]
    assert card.last4 == pan[-4:]
    assert card.expiry_month == date(2030, 12, 1)
    assert card.expired is False


def test_optional_fields_are_read() -> None:
    sealed = CARD.seal_card(VISA, "2812", atc=513, par=PAR, aid="A0000000031010", pan_sequence=1)
    card = open_sealed(sealed)
    assert card.atc == 513
    assert card.par == PAR
    assert card.pan_sequence == "01"
    assert card.scheme is Scheme.VISA


def test_absent_optional_fields_are_none() -> None:
    card = open_sealed(CARD.seal_card(VISA))
    assert (card.atc, card.par, card.pan_sequence) == (None, None, None)
    assert card.previous_tokens == ()


def test_card_data_without_a_template_is_read() -> None:
    card = open_sealed(CARD.seal_tlv(build_card_tlv(VISA, "3012", template=None)))
    assert card.last4 == "1111"


def test_card_data_in_nested_templates_with_other_tags_is_read() -> None:
    record = encode_tlv("57", bytes.fromhex("4111111111111111D30122010000")) + build_card_tlv(
        MASTERCARD, "3012", template=None
    )
    tlv = encode_tlv("77", encode_tlv("82", b"\x19\x80") + encode_tlv("70", record))
    assert open_sealed(CARD.seal_tlv(tlv)).last4 == "4444"


def test_padded_and_unpadded_base64url_both_open() -> None:
    sealed = CARD.seal_card(VISA, atc=1)  # 71 bytes: base64 would pad it
    padded = sealed + "=" * (-len(sealed) % 4)
    assert padded != sealed
    assert open_sealed(padded) == open_sealed(sealed)


def test_twelve_digit_pan_is_the_shortest_accepted() -> None:
    assert open_sealed(CARD.seal_card(with_luhn("50000000001"))).bin6 == "500000"


def test_envelope_is_rfc9180_base_mode() -> None:
    """Decrypt a sealed card with an independent RFC 9180 implementation, so a device built
    on another HPKE library interoperates: `enc || ciphertext`, our suite and info."""
    sealed = urlsafe_b64decode(CARD.seal_card(VISA) + "==")
    enc, ciphertext = sealed[:32], sealed[32:]
    plaintext = rfc9180_open(CARD.private_key, enc, ciphertext, info=b"ticketing card v1")
    assert plaintext == build_card_tlv(VISA, "3012")


def rfc9180_open(sk: X25519PrivateKey, enc: bytes, ciphertext: bytes, *, info: bytes) -> bytes:
    def extract(salt: bytes, ikm: bytes) -> bytes:
        return hmac.digest(salt or bytes(32), ikm, hashlib.sha256)

    def expand(prk: bytes, info: bytes, length: int) -> bytes:
        out, block, counter = b"", b"", 1
        while len(out) < length:
            block = hmac.digest(prk, block + info + bytes([counter]), hashlib.sha256)
            out, counter = out + block, counter + 1
        return out[:length]

    def labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return extract(salt, b"HPKE-v1" + suite + label + ikm)

    def labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, n: int) -> bytes:
        return expand(prk, n.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info, n)

    kem_suite = b"KEM\x00\x20"
    dh = sk.exchange(X25519PublicKey.from_public_bytes(enc))
    kem_context = enc + sk.public_key().public_bytes_raw()
    eae_prk = labeled_extract(kem_suite, b"", b"eae_prk", dh)
    shared = labeled_expand(kem_suite, eae_prk, b"shared_secret", kem_context, 32)

    hpke_suite = b"HPKE\x00\x20\x00\x01\x00\x01"
    psk_id_hash = labeled_extract(hpke_suite, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(hpke_suite, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(hpke_suite, shared, b"secret", b"")
    key = labeled_expand(hpke_suite, secret, b"key", context, 16)
    nonce = labeled_expand(hpke_suite, secret, b"base_nonce", context, 12)
    return AESGCM(key).decrypt(nonce, ciphertext, b"")


# --- expiry ------------------------------------------------------------------------------


def test_card_is_valid_through_the_last_instant_of_its_expiry_month() -> None:
    sealed = CARD.seal_card(VISA, "2611")
    last_instant = datetime(2026, 12, 1, tzinfo=UTC) - timedelta(microseconds=1)
    assert open_sealed(sealed, occurred_at=last_instant).expired is False
    assert open_sealed(sealed, occurred_at=datetime(2026, 12, 1, tzinfo=UTC)).expired is True


def test_expiry_is_judged_in_utc() -> None:
    sealed = CARD.seal_card(VISA, "2611")
    paris = timezone(timedelta(hours=1))
    # 00:30 on 1 December in Paris is still 30 November in UTC.
    assert (
        open_sealed(sealed, occurred_at=datetime(2026, 12, 1, 0, 30, tzinfo=paris)).expired is False
    )
    assert (
        open_sealed(sealed, occurred_at=datetime(2026, 12, 1, 1, 0, tzinfo=paris)).expired is True
    )


def test_december_expiry_ends_at_new_year() -> None:
    sealed = CARD.seal_card(VISA, "2612")
    assert (
        open_sealed(sealed, occurred_at=datetime(2026, 12, 31, 23, 59, tzinfo=UTC)).expired is False
    )
    assert open_sealed(sealed, occurred_at=datetime(2027, 1, 1, tzinfo=UTC)).expired is True


def test_expired_card_is_still_read_not_rejected() -> None:
    card = open_sealed(CARD.seal_card(VISA, "2001"))
    assert card.expired is True
    assert card.expiry_month == date(2020, 1, 1)
    assert card.token == tokenize(VISA, TOKEN_KEY)


def test_expiry_day_does_not_shorten_validity() -> None:
    # Cards may write 01 as the day; validity still runs to the end of the month.
    sealed = CARD.seal_card(VISA, date(2026, 11, 1))
    assert open_sealed(sealed, occurred_at=datetime(2026, 11, 30, 12, tzinfo=UTC)).expired is False


def test_naive_occurred_at_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        open_sealed(CARD.seal_card(VISA), occurred_at=datetime(2026, 11, 26, 8, 0))


# --- schemes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pan", "scheme"),
    [
        (VISA, Scheme.VISA),
        (MASTERCARD, Scheme.MASTERCARD),
        (with_luhn("222100000000000"), Scheme.MASTERCARD),
        (with_luhn("272099999999999"), Scheme.MASTERCARD),
        (AMEX, Scheme.AMEX),
        (with_luhn("34000000000000"), Scheme.AMEX),
        (with_luhn("353000000000000"), Scheme.JCB),
        (with_luhn("601100000000000"), Scheme.DISCOVER),
        (with_luhn("620000000000000"), Scheme.UNIONPAY),
        (with_luhn("500000000000000"), Scheme.UNKNOWN),
        (with_luhn("222000000000000"), Scheme.UNKNOWN),
        (with_luhn("272100000000000"), Scheme.UNKNOWN),
    ],
)
def test_scheme_from_bin_without_aid(pan: str, scheme: Scheme) -> None:
    assert open_sealed(CARD.seal_card(pan)).scheme is scheme


@pytest.mark.parametrize(
    ("aid", "scheme"),
    [
        ("A0000000031010", Scheme.VISA),
        ("A0000000041010", Scheme.MASTERCARD),
        ("A000000025010801", Scheme.AMEX),
        ("A0000000421010", Scheme.CB),
        ("A0000000651010", Scheme.JCB),
        ("A0000001523010", Scheme.DISCOVER),
    ],
)
def test_aid_decides_the_scheme_over_the_bin(aid: str, scheme: Scheme) -> None:
    # A Visa BIN: a co-badged CB card that selected the CB application is a CB tap.
    assert open_sealed(CARD.seal_card(VISA, aid=aid)).scheme is scheme


def test_unknown_aid_falls_back_to_the_bin() -> None:
    assert open_sealed(CARD.seal_card(MASTERCARD, aid="A0000009991010")).scheme is Scheme.MASTERCARD


def test_scheme_from_bin_needs_the_whole_prefix() -> None:
    assert scheme_from_bin("22") is Scheme.UNKNOWN
    assert scheme_from_bin("2221") is Scheme.MASTERCARD


# --- rejections --------------------------------------------------------------------------


def sealed_with(*objects: bytes) -> str:
    return CARD.seal_tlv(encode_tlv("70", b"".join(objects)))


PAN_TLV = encode_tlv("5A", bcd_pan(VISA))
EXPIRY_TLV = encode_tlv("5F24", bytes.fromhex("301231"))


def test_unknown_kid() -> None:
    assert rejection(CARD.seal_card(VISA), kid="nope").reason == "unknown_kid"


@pytest.mark.parametrize(
    "sealed",
    [
        "",
        "not base64!",
        "AAAA+AAA/AAA",  # standard base64, not base64url
        "A" * 65,  # a length no base64 has
        "AAAA" * 15,  # 45 bytes: shorter than enc + tag
        "A" * 10_000,  # far beyond any card payload
        "AAAA===",
        "ÄÖÜ",
    ],
)
def test_envelope_malformed(sealed: str) -> None:
    assert rejection(sealed).reason == "envelope_malformed"


def test_envelope_that_is_not_a_string_is_malformed() -> None:
    assert rejection(None).reason == "envelope_malformed"  # type: ignore[arg-type]


def test_envelope_sealed_to_another_key_does_not_open() -> None:
    other = CardKeys()
    assert rejection(other.seal_card(VISA)).reason == "envelope_not_opened"


def test_tampered_envelope_does_not_open() -> None:
    raw = bytearray(urlsafe_b64decode(CARD.seal_card(VISA) + "=="))
    raw[-20] ^= 0x01
    tampered = urlsafe_b64encode(bytes(raw)).decode()
    assert rejection(tampered).reason == "envelope_not_opened"


def test_envelope_sealed_with_another_info_does_not_open() -> None:
    raw = CARD_HPKE_SUITE.encrypt(
        build_card_tlv(VISA, "3012"), CARD.private_key.public_key(), info=b"x"
    )
    assert rejection(urlsafe_b64encode(raw).decode()).reason == "envelope_not_opened"


def test_empty_plaintext_has_no_pan() -> None:
    assert rejection(CARD.seal_tlv(b"")).reason == "pan_missing"


@pytest.mark.parametrize(
    ("tlv", "reason"),
    [
        (bytes.fromhex("5A05 4111"), "tlv_malformed"),
        (bytes.fromhex("70 80 0000"), "tlv_malformed"),
        (EXPIRY_TLV, "pan_missing"),
        (encode_tlv("5A", bytes.fromhex("4111A11111111111")) + EXPIRY_TLV, "pan_malformed"),
        (encode_tlv("5A", bytes.fromhex("41F1111111111111")) + EXPIRY_TLV, "pan_malformed"),
        (encode_tlv("5A", b"") + EXPIRY_TLV, "pan_malformed"),
        (encode_tlv("5A", bcd_pan(with_luhn("4111111111"))) + EXPIRY_TLV, "pan_malformed"),
        (encode_tlv("5A", bcd_pan(with_luhn("4" * 19))) + EXPIRY_TLV, "pan_malformed"),
        (encode_tlv("5A", bcd_pan("4111111111111112")) + EXPIRY_TLV, "pan_luhn"),
        (PAN_TLV, "expiry_missing"),
        (PAN_TLV + encode_tlv("5F24", bytes.fromhex("301331")), "expiry_malformed"),
        (PAN_TLV + encode_tlv("5F24", bytes.fromhex("300031")), "expiry_malformed"),
        (PAN_TLV + encode_tlv("5F24", bytes.fromhex("301200")), "expiry_malformed"),
        (PAN_TLV + encode_tlv("5F24", bytes.fromhex("3012")), "expiry_malformed"),
        (PAN_TLV + encode_tlv("5F24", bytes.fromhex("3A1231")), "expiry_malformed"),
        (PAN_TLV + EXPIRY_TLV + encode_tlv("9F36", b"\x01\x02\x03"), "field_malformed"),
        (PAN_TLV + EXPIRY_TLV + encode_tlv("9F24", PAR[:28].encode()), "field_malformed"),
        (PAN_TLV + EXPIRY_TLV + encode_tlv("9F24", PAR[:28].encode() + b"-"), "field_malformed"),
        (PAN_TLV + EXPIRY_TLV + encode_tlv("5F34", b"\x0a"), "field_malformed"),
        (PAN_TLV + EXPIRY_TLV + encode_tlv("5F34", b"\x01\x02"), "field_malformed"),
        (PAN_TLV + EXPIRY_TLV + encode_tlv("4F", bytes.fromhex("A00000")), "field_malformed"),
    ],
)
def test_card_data_rejections(tlv: bytes, reason: str) -> None:
    exc = rejection(CARD.seal_tlv(tlv))
    assert exc.reason == reason
    assert exc.code == reason
    assert exc.detail


def test_twenty_digit_pan_is_malformed() -> None:
    # 20 digits fill 10 BCD bytes exactly; no PAN is that long.
    exc = rejection(sealed_with(encode_tlv("5A", bcd_pan(with_luhn("4" * 19))), EXPIRY_TLV))
    assert exc.reason == "pan_malformed"
    assert "20 digits" in exc.detail


# --- the PAN never leaves the module ---------------------------------------------------


# A PAN with no long repeated runs, so finding 8 of its digits in a text means a leak.
LEAK_PAN = with_luhn("493817265049172")
LEAK_PAN_TLV = encode_tlv("5A", bcd_pan(LEAK_PAN))
LEAKY_CASES = {
    "pan_luhn": encode_tlv("5A", bcd_pan(LEAK_PAN[:-1] + "0")) + EXPIRY_TLV,
    "pan_malformed": encode_tlv("5A", bytes.fromhex(LEAK_PAN[:15] + "A")) + EXPIRY_TLV,
    "pan_too_long": encode_tlv("5A", bcd_pan(LEAK_PAN + "0000")) + EXPIRY_TLV,
    "expiry_missing": LEAK_PAN_TLV,
    "expiry_malformed": LEAK_PAN_TLV + encode_tlv("5F24", b"\xff\xff\xff"),
    "field_malformed": LEAK_PAN_TLV + EXPIRY_TLV + encode_tlv("9F36", b"\x01"),
    "tlv_malformed": LEAK_PAN_TLV + bytes.fromhex("9F3605 01"),
}


def pan_fragments(pan: str) -> list[str]:
    return [pan[i : i + 8] for i in range(len(pan) - 7)]


def as_texts(value: object) -> list[str]:
    """A value as text the way a report could show it; bytes also as hex, where BCD digits
    read as the PAN."""
    if isinstance(value, bytes | bytearray):
        return [repr(value), value.hex()]
    if isinstance(value, dict):
        return [text for item in value.values() for text in as_texts(item)]
    return [repr(value)]


@pytest.mark.parametrize("tlv", LEAKY_CASES.values(), ids=LEAKY_CASES.keys())
def test_rejection_text_and_traceback_carry_no_pan(tlv: bytes) -> None:
    exc = rejection(CARD.seal_tlv(tlv))
    texts = [str(exc), repr(exc), exc.detail, repr(exc.__context__), repr(exc.__cause__)]
    # Error reporters (Sentry and the like) capture the locals of every frame in the
    # traceback; none of the module's frames may hold the PAN or the plaintext.
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename != __file__:  # this file holds the PAN to seal it
            for value in tb.tb_frame.f_locals.values():
                texts.extend(as_texts(value))
        tb = tb.tb_next
    blob = "\n".join(texts).lower()
    for fragment in pan_fragments(LEAK_PAN):
        assert fragment not in blob


def test_leak_check_sees_a_pan_where_there_is_one() -> None:
    # Guards the test above against checking nothing.
    blob = "\n".join(as_texts({"5A": bcd_pan(LEAK_PAN)}))
    assert any(fragment in blob for fragment in pan_fragments(LEAK_PAN))


def test_card_read_repr_carries_no_pan() -> None:
    card = open_sealed(CARD.seal_card(LEAK_PAN, atc=1, par=PAR, aid="A0000000031010"))
    for fragment in pan_fragments(LEAK_PAN):
        assert fragment not in repr(card)
        assert fragment not in str(card)


# --- key rotation ------------------------------------------------------------------------


def test_key_ring_gives_the_current_token_and_links_the_old_ones() -> None:
    old = TokenKey("t0", b"o" * 32)
    ring = KeyRing(current=TokenKey("t2", b"n" * 32), previous=(old,))
    card = open_card(
        CARD.seal_card(VISA), kid=CARD.kid, keys=CARD.keys, occurred_at=NOW, token_key=ring
    )
    assert card.token_kid == "t2"
    assert (card.token, *card.previous_tokens) == tokens_under_all_keys(VISA, ring)
    assert card.previous_tokens == (tokenize(VISA, old),)


def test_card_keys_rotate_by_kid() -> None:
    new = CardKeys(kid="c2")
    keys = {**CARD.keys, **new.keys}
    for kid, card_keys in (("c1", CARD), ("c2", new)):
        sealed = card_keys.seal_card(VISA)
        read = open_card(sealed, kid=kid, keys=keys, occurred_at=NOW, token_key=TOKEN_KEY)
        assert read.token == tokenize(VISA, TOKEN_KEY)


def test_sealing_accepts_the_published_raw_key() -> None:
    raw = urlsafe_b64decode(public_key_b64url(CARD.private_key.public_key()) + "=")
    assert len(raw) == 32
    assert open_sealed(seal(build_card_tlv(VISA, "3012"), raw)).last4 == "1111"


# --- fuzzing: only CardRejected escapes --------------------------------------------------


@given(st.text(max_size=400))
def test_random_text_is_rejected_cleanly(sealed: str) -> None:
    with pytest.raises(CardRejected):
        open_sealed(sealed)


@given(st.binary(max_size=200))
def test_random_bytes_as_base64url_are_rejected_cleanly(raw: bytes) -> None:
    with pytest.raises(CardRejected) as caught:
        open_sealed(urlsafe_b64encode(raw).decode().rstrip("="))
    assert caught.value.reason in {"envelope_malformed", "envelope_not_opened"}


@given(st.binary(max_size=300))
def test_random_plaintext_sealed_properly_reads_or_is_rejected(plaintext: bytes) -> None:
    try:
        open_sealed(CARD.seal_tlv(plaintext))
    except CardRejected as exc:
        assert exc.reason not in {"envelope_malformed", "unknown_kid", "envelope_not_opened"}


@given(luhn_pans(12, 19), st.data())
def test_one_wrong_digit_fails_luhn(pan: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(pan) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != pan[at]]))
    changed = pan[:at] + digit + pan[at + 1 :]
    assert luhn_valid(pan)
    assert not luhn_valid(changed)
    assert rejection(CARD.seal_card(changed)).reason == "pan_luhn"
