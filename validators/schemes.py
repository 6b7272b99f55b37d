"""Which card scheme a card belongs to: from the AID the card selected, else from its BIN.

The AID wins because French cards are co-badged (CB plus Visa or Mastercard) and the BIN
alone names only one of the two brands; the AID says which application the rider tapped.
"""

from __future__ import annotations

from enum import StrEnum


class Scheme(StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    CB = "cb"
    JCB = "jcb"
    DISCOVER = "discover"
    UNIONPAY = "unionpay"
    INTERAC = "interac"
    UNKNOWN = "unknown"


# Registered application provider identifiers (the first 5 bytes of an AID).
_RID_SCHEMES: dict[str, Scheme] = {
    "A000000003": Scheme.VISA,
    "A000000004": Scheme.MASTERCARD,  # Maestro too
    "A000000025": Scheme.AMEX,
    "A000000042": Scheme.CB,
    "A000000065": Scheme.JCB,
    "A000000152": Scheme.DISCOVER,  # D-PAS
    "A000000324": Scheme.DISCOVER,  # Discover ZIP
    "A000000333": Scheme.UNIONPAY,
    "A000000277": Scheme.INTERAC,
}

# (first, last, scheme) over the leading digits, longest prefixes first so that a narrow
# range inside a wide one wins. BIN ranges are the schemes' published IIN ranges; Maestro
# (50, 56-69) is left unknown because its range overlaps other brands.
_BIN_RANGES: tuple[tuple[str, str, Scheme], ...] = (
    ("2221", "2720", Scheme.MASTERCARD),
    ("3528", "3589", Scheme.JCB),
    ("6011", "6011", Scheme.DISCOVER),
    ("644", "649", Scheme.DISCOVER),
    ("34", "34", Scheme.AMEX),
    ("37", "37", Scheme.AMEX),
    ("51", "55", Scheme.MASTERCARD),
    ("62", "62", Scheme.UNIONPAY),
    ("65", "65", Scheme.DISCOVER),
    ("4", "4", Scheme.VISA),
)


def scheme_from_aid(aid: bytes) -> Scheme | None:
    """The scheme whose RID starts `aid`, or None for an AID we do not know."""
    return _RID_SCHEMES.get(aid[:5].hex().upper())


def scheme_from_bin(bin_digits: str) -> Scheme:
    """The scheme of a card from its leading digits (6 are enough)."""
    for first, last, scheme in _BIN_RANGES:
        prefix = bin_digits[: len(first)]
        if len(prefix) == len(first) and first <= prefix <= last:
            return scheme
    return Scheme.UNKNOWN


def detect_scheme(aid: bytes | None, bin_digits: str) -> Scheme:
    """AID first (it is what the card selected), BIN otherwise."""
    if aid is not None:
        by_aid = scheme_from_aid(aid)
        if by_aid is not None:
            return by_aid
    return scheme_from_bin(bin_digits)
