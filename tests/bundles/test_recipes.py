"""Recipes load, validate their expressions, and derive partner parameters from a trip."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bundles import RecipeError, TravellerFacts, Trip, load_recipe, load_recipes, recipe_for_entry

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


def test_parameters_derive_from_the_trip() -> None:
    recipe = load_recipes()["travel_abroad"]
    params = {c.kind: c.derive(TRIP) for c in recipe.components}

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
    }
    assert TRIP.days == 8


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
