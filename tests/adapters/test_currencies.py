"""Prices from partners are in ISO 4217 currencies: anything else is a protocol error, like any
other malformed offer."""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters import (
    ISO_4217_CODES,
    PartnerProtocolError,
    check_currency_code,
    is_currency_code,
    parse_offers,
)
from adapters import insurer as insurer_adapter
from adapters.airline import PROTOCOL as AIRLINE
from sandbox._money import CURRENCY_DECIMALS


def offer(currency: object = "CNY", **details: object) -> dict[str, Any]:
    return {
        "offer_id": "off-1",
        "product_code": "P-1",
        "title": "A product",
        "price": {"currency_code": currency, "base": "100.00", "tax": "6.00"},
        "expires_at": "2030-01-01T00:00:00Z",
        "details": details,
    }


def test_the_list_is_sorted_unique_three_capital_letters() -> None:
    assert list(ISO_4217_CODES) == sorted(set(ISO_4217_CODES))
    assert all(re.fullmatch(r"[A-Z]{3}", code) for code in ISO_4217_CODES)


@pytest.mark.parametrize("code", ["CNY", "JPY", "EUR", "USD", "THB", "XCG", "ZWG", "SLE", "VED"])
def test_current_codes_are_currencies(code: str) -> None:
    assert is_currency_code(code)
    assert check_currency_code(code) == code


@pytest.mark.parametrize(
    "code",
    [
        "ABC",  # three capital letters, no currency
        "QQQ",
        "HRK",  # withdrawn: Croatia adopted the euro
        "BGN",  # withdrawn: Bulgaria adopted the euro
        "ZWL",  # withdrawn: replaced by ZWG
        "cny",  # codes are upper case
        "Cny",
        " CNY",
        "CN",
        "CNYY",
        "",
        "１２３",
    ],
)
def test_anything_else_is_not(code: str) -> None:
    assert not is_currency_code(code)
    with pytest.raises(ValueError, match="is not an ISO 4217 currency code"):
        check_currency_code(code)


def test_every_sandbox_currency_is_listed() -> None:
    assert set(CURRENCY_DECIMALS) <= set(ISO_4217_CODES)


def test_an_offer_in_a_known_currency_parses() -> None:
    [parsed] = parse_offers("airline-a", {"offers": [offer("JPY")]}, AIRLINE.attributes)
    assert parsed.price.currency_code == "JPY"


@pytest.mark.parametrize("currency", ["ABC", "HRK", "cny", "CN", 840, None])
def test_an_offer_in_an_unknown_currency_is_a_protocol_error(currency: object) -> None:
    payload = {"offers": [offer(), offer(currency)]}  # one bad offer spoils the answer
    with pytest.raises(PartnerProtocolError, match="ISO 4217") as caught:
        parse_offers("airline-a", payload, AIRLINE.attributes)
    assert caught.value.partner_id == "airline-a"


def test_an_insurers_cover_currency_is_checked_too() -> None:
    good = offer(plan="basic", medical_cover="500000", cover_currency="CNY")
    [parsed] = parse_offers("insurer-a", {"offers": [good]}, insurer_adapter.attributes)
    assert parsed.attributes["cover_currency"] == "CNY"

    bad = offer(plan="basic", medical_cover="500000", cover_currency="RMB")
    with pytest.raises(PartnerProtocolError, match="cover_currency 'RMB'"):
        parse_offers("insurer-a", {"offers": [bad]}, insurer_adapter.attributes)
