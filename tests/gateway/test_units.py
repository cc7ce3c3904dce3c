"""Small pure pieces of the gateway: money, selection, settings, normalization."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters import Offer, Price, RetryPolicy
from bundles import SelectionPolicy
from gateway.client.journeys import ENTRY_KINDS, TripPlan, compose_request
from gateway.composition import order_offers
from gateway.errors import InvalidRequestError
from gateway.money import from_money, to_money, totals_by_currency
from gateway.normalize import normalize
from gateway.settings import RetrySettings, load_settings

KINDS = {
    "telecom-cn": "telecom",
    "airline-a": "airline",
    "airline-b": "airline",
    "insurer-a": "insurer",
    "car-a": "car_rental",
    "car-b": "car_rental",
}
TODAY = date(2030, 1, 1)


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=9, allow_nan=False))
def test_money_round_trips_exactly(amount: Decimal) -> None:
    money = to_money("CNY", amount)
    assert from_money(money) == amount
    assert (money.units >= 0 and money.nanos >= 0) or (money.units <= 0 and money.nanos <= 0)


def test_totals_are_per_currency_and_sorted() -> None:
    totals = totals_by_currency(
        [("JPY", Decimal(1000)), ("CNY", Decimal("1.5")), ("JPY", Decimal(5))]
    )
    assert [(m.currency_code, m.units, m.nanos) for m in totals] == [
        ("CNY", 1, 500_000_000),
        ("JPY", 1005, 0),
    ]


def _offer(partner: str, total: str, rating: float, offer_id: str = "o") -> Offer:
    return Offer(
        partner_id=partner,
        offer_id=offer_id,
        product_code="p",
        title="t",
        price=Price("CNY", Decimal(total), Decimal(0)),
        rating=rating,
        expires_at=datetime.now(UTC),
        attributes={},
    )


def test_selection_cheapest_then_rating_then_partner() -> None:
    offers = [
        _offer("b", "100", 4.0),
        _offer("a", "100", 4.5),
        _offer("c", "90", 1.0),
        _offer("a", "100", 4.0),
    ]
    ranked = order_offers(offers, SelectionPolicy())
    assert [(o.partner_id, o.rating) for o in ranked] == [
        ("c", 1.0),
        ("a", 4.5),
        ("a", 4.0),
        ("b", 4.0),
    ]


def test_selection_does_not_depend_on_input_order() -> None:
    offers = [
        _offer(p, t, r, i)
        for p, t, r, i in [("a", "5", 3, "x"), ("b", "5", 3, "y"), ("a", "5", 3, "z")]
    ]
    assert order_offers(offers, SelectionPolicy()) == order_offers(offers[::-1], SelectionPolicy())


def test_every_entry_normalizes_to_the_same_trip() -> None:
    plan = TripPlan.sample(TODAY)
    trips = {normalize(compose_request(k, plan), KINDS, TODAY).trip for k in ENTRY_KINDS}
    assert len(trips) == 1
    trip = trips.pop()
    assert (trip.origin_airport, trip.destination_airport, trip.home_region) == ("PVG", "NRT", "CN")
    assert [t.age for t in trip.travellers] == [41, 39, 12]


def test_departure_in_the_past_is_refused() -> None:
    plan = TripPlan("JP", "NRT", TODAY - timedelta(days=1), TODAY + timedelta(days=3))
    with pytest.raises(InvalidRequestError) as caught:
        normalize(compose_request("roaming", plan), KINDS, TODAY)
    assert [v.field for v in caught.value.violations] == ["entry.roaming.start_date"]


def test_environment_beats_the_yaml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("server:\n  address: 127.0.0.1:6001\nlog_level: DEBUG\n")
    assert load_settings(config).server.address == "127.0.0.1:6001"
    monkeypatch.setenv("PSG_SERVER__ADDRESS", "127.0.0.1:6002")
    settings = load_settings(config)
    assert settings.server.address == "127.0.0.1:6002"
    assert settings.log_level == "DEBUG"


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "fields",
    [
        {"max_attempts": 0},
        {"max_backoff_s": -1.0},
        {"initial_backoff_s": 2.0, "max_backoff_s": 1.0},
        {"budget_ratio": -0.1},
    ],
)
def test_a_retry_policy_that_cannot_work_is_refused_where_it_is_made(
    fields: dict[str, float],
) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**fields)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        RetrySettings(**fields)


def test_retry_settings_and_the_policy_share_their_defaults() -> None:
    assert RetrySettings().policy() == RetryPolicy()
