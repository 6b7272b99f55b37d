"""Money in integer minor units; decimal strings from tariff files parsed exactly."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache

# ISO 4217 minor-unit exponents. Currencies not listed use 2, the common case; the ones
# listed are those a tariff is likely to carry plus every exponent other than 2 in use.
EXPONENTS: dict[str, int] = {
    "EUR": 2, "USD": 2, "CAD": 2, "GBP": 2, "CHF": 2, "AUD": 2, "SEK": 2, "NOK": 2,
    "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "NZD": 2, "SGD": 2, "HKD": 2, "CNY": 2,
    "INR": 2, "BRL": 2, "MXN": 2, "ZAR": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XOF": 0, "XAF": 0, "PYG": 0,
    "UGX": 0, "RWF": 0, "KMF": 0, "GNF": 0, "VUV": 0, "XPF": 0, "DJF": 0, "BIF": 0,
    "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3, "LYD": 3, "IQD": 3,
    "CLF": 4, "UYW": 4,
}  # fmt: skip


class MoneyError(ValueError):
    """A decimal amount that cannot be expressed in the currency's minor units."""


def exponent(currency: str) -> int:
    return EXPONENTS.get(currency, 2)


def is_currency_code(code: str) -> bool:
    return len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()


def to_minor(amount: Decimal | str | int, currency: str) -> int:
    """Exact conversion; an amount finer than the currency's minor unit is an error."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"{amount!r} is not a decimal amount") from exc
    if not value.is_finite():
        raise MoneyError(f"{amount!r} is not a finite amount")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{amount!r} has more decimals than {currency} allows ({exponent(currency)})"
        )
    return int(scaled)


def round_minor(value: Fraction) -> int:
    """Round an exact fractional minor amount half up (away from zero on .5)."""
    return round_ratio(value.numerator, value.denominator)


def round_ratio(numerator: int, denominator: int) -> int:
    """`round_minor(Fraction(numerator, denominator))` without the Fraction; the
    denominator is positive."""
    sign = -1 if numerator < 0 else 1
    whole, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        whole += 1
    return sign * whole


@lru_cache(maxsize=4096)  # explanations repeat the same few amounts millions of times
def format_money(amount_minor: int, currency: str) -> str:
    """`130, EUR` -> `1.30 EUR`; `-130` -> `-1.30 EUR`; JPY has no decimals."""
    digits = exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    magnitude = abs(amount_minor)
    if digits == 0:
        return f"{sign}{magnitude} {currency}"
    major, minor = divmod(magnitude, 10**digits)
    return f"{sign}{major}.{minor:0{digits}d} {currency}"
