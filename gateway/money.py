"""Exact conversions between `decimal.Decimal` amounts and `google.type.Money`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from google.type import money_pb2

_NANOS = Decimal(1_000_000_000)


def to_money(currency_code: str, amount: Decimal) -> money_pb2.Money:
    """`units` and `nanos` carry the same sign, as google.type.Money requires: `int()` of a
    Decimal truncates toward zero, as ROUND_DOWN does."""
    units = int(amount)
    nanos = int((amount - units) * _NANOS)
    return money_pb2.Money(currency_code=currency_code, units=units, nanos=nanos)


def from_money(money: money_pb2.Money) -> Decimal:
    return Decimal(money.units) + Decimal(money.nanos) / _NANOS


def totals_by_currency(amounts: Iterable[tuple[str, Decimal]]) -> list[money_pb2.Money]:
    """One Money per currency, sorted by currency code."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in amounts:
        sums[currency] += amount
    return [to_money(currency, sums[currency]) for currency in sorted(sums)]
