"""Recipes load, validate their expressions, and derive partner parameters from a trip."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bundles import RecipeError, TravellerFacts, Trip, load_recipe, load_recipes, recipe_for_entry
from bundles.facts import offer_facts, provisional_facts

TRIP = Trip(
    home_region="CN",
    origin_airport="PVG",
    destination_region="JP",
    destination_airport="NRT",
    depart_date=date(2030, 3, 1),
    return_date=date(2030, 3, 8),
    travellers=(
        TravellerFacts(age=40, driver=True, residence_region="CN"),
        TravellerFacts(age=19, driver=True, residence_region="CN"),
        TravellerFacts(age=7, driver=False, residence_region="CN"),
    ),
)


def test_travel_abroad_is_triggered_by_all_four_entries() -> None:
    recipes = load_recipes()
    for kind in ("roaming", "flight", "insurance", "car"):
        recipe = recipe_for_entry(recipes, kind)
        assert recipe is not None
        assert recipe.ref == "travel_abroad@1"
    assert recipe_for_entry(recipes, "hotel") is None


def test_parameters_derive_from_the_trip_and_the_provisional_flight() -> None:
    recipe = load_recipes()["travel_abroad"]
    flight = {"flight": provisional_facts("airline", TRIP)}
    params = {c.kind: c.derive(TRIP, flight) for c in recipe.components}

    assert params["connectivity"] == {
        "home_region": "CN",
        "destination_region": "JP",
        "start_date": "2030-03-01",
        "end_date": "2030-03-08",
        "lines": 3,
    }
    assert params["flight"]["adults"] == 2
    assert params["flight"]["children"] == 1
    assert [p["age"] for p in params["insurance"]["insured"]] == [40, 19, 7]
    assert params["car"] == {
        "pickup_location": "NRT",
        "pickup_date": "2030-03-01",
        "return_date": "2030-03-08",
        "driver_age": 40,
        "passengers": 3,
        "drivers": 2,
    }
    assert TRIP.days == 8


def test_the_car_follows_the_chosen_flight_in_local_time() -> None:
    """PVG→SYD landing after midnight in Sydney: the car is picked up the next day, and the
    travellers are home the day after the return flight leaves."""
    car = next(c for c in load_recipes()["travel_abroad"].components if c.kind == "car")
    flight = offer_facts(
        "airline",
        {
            "outbound_origin": "PVG",
            "outbound_destination": "SYD",
            "outbound_departs_at": "2030-03-01T13:20:00Z",
            "outbound_arrives_at": "2030-03-01T14:55:00Z",  # 01:55 next day in Sydney
            "inbound_origin": "SYD",
            "inbound_destination": "PVG",
            "inbound_departs_at": "2030-03-08T11:30:00Z",
            "inbound_arrives_at": "2030-03-08T21:00:00Z",
        },
    )
    assert flight["arrival_date"] == "2030-03-02"
    assert flight["arrival_time"] == "01:55"
    assert flight["home_arrival_date"] == "2030-03-09"
    params = car.derive(TRIP, {"flight": flight})
    assert (params["pickup_date"], params["return_date"]) == ("2030-03-02", "2030-03-08")


def test_recipe_dependencies_and_rules_are_checked_at_load_time(tmp_path: Path) -> None:
    base = "name: r\nversion: 1\ntitle: R\ntriggers: [flight]\ncomponents:\n"
    flight = "  - {kind: flight, partner_kind: airline, title: F, params: {}}\n"
    loop = (
        "  - {kind: a, partner_kind: airline, title: A, params: {}, requires: [b]}\n"
        "  - {kind: b, partner_kind: airline, title: B, params: {}, requires: [a]}\n"
    )
    no_facts = "  - {kind: c, partner_kind: telecom, title: C, params: {x: $component.d.y}}\n"
    no_facts += "  - {kind: d, partner_kind: telecom, title: D, params: {}}\n"
    typo = (
        "  - {kind: c, partner_kind: car_rental, title: C, params: {x: $component.flight.lands}}\n"
    )
    for body, message in (
        (loop, "depend on each other"),
        (no_facts, "expose no facts"),
        (flight + typo, "component.flight.lands"),
    ):
        path = tmp_path / "r.yaml"
        path.write_text(base + body)
        with pytest.raises(RecipeError, match=message):
            load_recipe(path)


def test_eligibility_rules_name_their_reason() -> None:
    car = next(c for c in load_recipes()["travel_abroad"].components if c.kind == "car")
    young = Trip(**{**TRIP.__dict__, "travellers": (TravellerFacts(19, True, "CN"),)})
    walkers = Trip(**{**TRIP.__dict__, "travellers": (TravellerFacts(30, False, "CN"),)})
    assert car.not_applicable(TRIP) is None
    assert car.not_applicable(young) == "driver_too_young"
    assert car.not_applicable(walkers) == "no_driver"


def test_car_does_not_apply_without_a_driver() -> None:
    car = next(c for c in load_recipes()["travel_abroad"].components if c.kind == "car")
    walkers = Trip(**{**TRIP.__dict__, "travellers": (TravellerFacts(30, False, "CN"),)})
    assert car.applies(TRIP)
    assert not car.applies(walkers)


def test_a_typo_in_a_recipe_fails_at_load_time(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "name: broken\nversion: 1\ntitle: Broken\ntriggers: [flight]\n"
        "components:\n  - kind: flight\n    partner_kind: airline\n    title: x\n"
        "    params: {origin: $trip.orign_airport}\n"
    )
    with pytest.raises(RecipeError, match="orign_airport"):
        load_recipe(path)


def test_unknown_recipe_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "extra.yaml"
    path.write_text(
        "name: extra\nversion: 1\ntitle: X\ntriggers: []\ncomponents: []\nsurprise: 1\n"
    )
    with pytest.raises(RecipeError):
        load_recipe(path)
