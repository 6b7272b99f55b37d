"""Amounts are parsed exactly into minor units with the currency's ISO 4217 exponent."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from fare.money import MoneyError, format_money, round_minor, to_minor


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("1.30", "EUR", 130), ("2", "EUR", 200), ("-1.00", "EUR", -100), ("0", "EUR", 0),
     ("130", "JPY", 130), ("1.250", "KWD", 1250), ("3.2", "CAD", 320), ("9.99", "XXY", 999)],
)  # fmt: skip
def test_decimal_strings_become_exact_minor_units(text: str, currency: str, minor: int) -> None:
    assert to_minor(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"), [("1.305", "EUR"), ("1.5", "JPY"), ("1,45", "CAD"), ("NaN", "EUR")]
)
def test_amounts_finer_than_the_currency_or_not_numbers_are_refused(
    text: str, currency: str
) -> None:
    with pytest.raises(MoneyError):
        to_minor(text, currency)


def test_decimal_values_are_accepted_as_is() -> None:
    assert to_minor(Decimal("0.10"), "USD") == 10


def test_formatting_and_half_up_rounding() -> None:
    assert format_money(130, "EUR") == "1.30 EUR"
    assert format_money(-5, "EUR") == "-0.05 EUR"
    assert format_money(1800, "JPY") == "1800 JPY"
    assert round_minor(Fraction(5, 2)) == 3
    assert round_minor(Fraction(-5, 2)) == -3
    assert round_minor(Fraction(7, 3)) == 2
