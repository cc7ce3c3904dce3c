"""Money as the protocol writes it: decimal strings in the currency's major unit.

Never floats: every amount is a `Decimal`, rounded half-up to the currency's number of
decimals (ISO 4217 minor units) only when it is written out.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = ["CURRENCY_DECIMALS", "money", "quantize", "to_amount"]

# ISO 4217 minor units of every currency a sandbox catalogue prices in.
CURRENCY_DECIMALS: dict[str, int] = {
    "AUD": 2,
    "CNY": 2,
    "EUR": 2,
    "GBP": 2,
    "JPY": 0,
    "KRW": 0,
    "SGD": 2,
    "THB": 2,
    "USD": 2,
}


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round `amount` half-up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-CURRENCY_DECIMALS[currency])
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def to_amount(amount: Decimal, currency: str) -> str:
    """The protocol's decimal string: `"1234.50"`, or `"45500"` for JPY (never exponent form)."""
    return f"{quantize(amount, currency):f}"


def money(currency: str, base: Decimal, tax: Decimal) -> dict[str, str]:
    """A protocol Money object; the total is `base + tax`."""
    return {
        "currency_code": currency,
        "base": to_amount(base, currency),
        "tax": to_amount(tax, currency),
    }
