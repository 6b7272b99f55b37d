from __future__ import annotations

import hashlib
import hmac
import re
from base64 import urlsafe_b64decode

import pytest
from hypothesis import given

from tests.validators.cards import VISA, luhn_pans
from validators.tokens import KeyRing, TokenKey, token_kid, tokenize, tokens_under_all_keys

KEY = TokenKey("t1", b"s" * 32)


def test_token_is_kid_and_base64url_hmac_sha256_of_the_pan() -> None:
    token = tokenize(VISA, KEY)
    kid, _, mac = token.partition(":")
    assert kid == "t1"
    assert len(mac) == 43
    assert "=" not in mac
    assert urlsafe_b64decode(mac + "=") == hmac.digest(b"s" * 32, VISA.encode(), hashlib.sha256)
    assert token_kid(token) == "t1"


@given(luhn_pans(12, 19))
def test_tokens_are_deterministic(pan: str) -> None:
    assert tokenize(pan, KEY) == tokenize(pan, TokenKey("t1", b"s" * 32))


@given(luhn_pans(12, 19), luhn_pans(12, 19))
def test_different_cards_have_different_tokens(a: str, b: str) -> None:
    assert (tokenize(a, KEY) == tokenize(b, KEY)) == (a == b)


def test_another_secret_gives_another_token() -> None:
    other = TokenKey("t1", b"S" * 32)
    assert tokenize(VISA, KEY) != tokenize(VISA, other)


def test_another_kid_gives_another_token() -> None:
    # Same secret, another id: the tokens still differ, so they never collide in a store.
    assert tokenize(VISA, KEY) != tokenize(VISA, TokenKey("t2", b"s" * 32))


def test_token_does_not_contain_the_pan() -> None:
    assert VISA[-8:] not in tokenize(VISA, KEY)


@pytest.mark.parametrize("secret", [b"", b"x" * 31])
def test_short_secrets_are_refused(secret: bytes) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenKey("t1", secret)


@pytest.mark.parametrize("kid", ["", "a:b", "x" * 33, "é"])
def test_kids_that_would_make_tokens_ambiguous_are_refused(kid: str) -> None:
    with pytest.raises(ValueError, match="kid"):
        TokenKey(kid, b"s" * 32)


def test_key_repr_hides_the_secret() -> None:
    key = TokenKey("t1", b"supersecretsupersecretsupersecret")
    assert "supersecret" not in repr(key)
    assert "supersecret" not in repr(KeyRing(key))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "12345678901",
        "4" * 20,
        "4111 1111 1111 1111",
        "\uff14\uff11" * 8,  # full-width digits: str.isdigit says yes, ASCII says no
    ],
)
def test_tokenize_refuses_non_pans_without_echoing_them(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        tokenize(bad, KEY)
    assert not re.search(r"[0-9]{4}", str(caught.value))


@pytest.mark.parametrize("bad", ["", "nokid", ":abc", "a b:abc"])
def test_token_kid_refuses_what_is_not_a_token(bad: str) -> None:
    with pytest.raises(ValueError):
        token_kid(bad)


def test_key_ring_lists_current_key_first() -> None:
    old1, old2 = TokenKey("t0", b"a" * 32), TokenKey("t-1", b"b" * 32)
    ring = KeyRing(current=KEY, previous=(old1, old2))
    assert ring.keys == (KEY, old1, old2)
    assert tokens_under_all_keys(VISA, ring) == (
        tokenize(VISA, KEY),
        tokenize(VISA, old1),
        tokenize(VISA, old2),
    )


def test_key_ring_refuses_duplicate_kids() -> None:
    with pytest.raises(ValueError, match="unique"):
        KeyRing(current=KEY, previous=(TokenKey("t1", b"o" * 32),))
