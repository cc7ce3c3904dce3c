"""Recipes as data: their schema, and loading them from YAML files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bundles._expressions import ExpressionError, evaluate
from bundles.trip import TravellerFacts, Trip

RECIPES_DIR = Path(__file__).parent / "recipes"
SortKey = Literal["total", "-total", "rating", "-rating", "partner_id", "offer_id"]


class RecipeError(ValueError):
    """A recipe file is malformed or refers to something that does not exist."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """The component applies only when the value at `path` is at least `at_least`."""

    path: str = Field(pattern=r"^\$trip\.[a-z_]+$")
    at_least: int

    def holds(self, scope: Mapping[str, Any]) -> bool:
        value = evaluate(self.path, scope)
        return isinstance(value, int) and value >= self.at_least


class ComponentSpec(_Strict):
    """One component of a recipe and how its partner request derives from the trip."""

    kind: str = Field(pattern=r"^[a-z][a-z_]*$")
    partner_kind: str = Field(pattern=r"^[a-z][a-z_]*$")
    title: str
    params: dict[str, Any]
    when: Condition | None = None
    not_applicable_reason: str = "does not apply to this trip"

    def applies(self, trip: Trip) -> bool:
        return self.when is None or self.when.holds({"trip": trip.context()})

    def derive(self, trip: Trip) -> dict[str, Any]:
        """The partner request parameters for this trip."""
        result = evaluate(self.params, {"trip": trip.context()})
        assert isinstance(result, dict)
        return result


class SelectionPolicy(_Strict):
    """Orders a component's offers; the first is chosen. Never looks at the entry partner.

    Totals are compared within a currency; offers in different currencies order by currency
    code first, so the choice stays deterministic.
    """

    order_by: tuple[SortKey, ...] = ("total", "-rating", "partner_id", "offer_id")


class Recipe(_Strict):
    """A solution recipe: which entry kinds trigger it and which components it composes."""

    name: str = Field(pattern=r"^[a-z][a-z_]*$")
    version: int = Field(ge=1)
    title: str
    triggers: tuple[str, ...]
    components: tuple[ComponentSpec, ...] = Field(min_length=1)
    selection: SelectionPolicy = SelectionPolicy()

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def check_expressions(self) -> None:
        """Evaluates every expression against a sample trip, so typos fail at load time."""
        sample = Trip(
            home_region="CN",
            origin_airport="PVG",
            destination_region="JP",
            destination_airport="NRT",
            depart_date=date(2030, 1, 1),
            return_date=date(2030, 1, 8),
            travellers=(TravellerFacts(age=40, driver=True, residence_region="CN"),),
        )
        for component in self.components:
            try:
                component.applies(sample)
                component.derive(sample)
            except ExpressionError as exc:
                raise RecipeError(f"{self.name}: component {component.kind}: {exc}") from exc


def load_recipe(path: Path) -> Recipe:
    try:
        recipe = Recipe.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise RecipeError(f"{path}: {exc}") from exc
    recipe.check_expressions()
    return recipe


def load_recipes(extra_dirs: Iterable[Path] = ()) -> dict[str, Recipe]:
    """The bundled recipes plus any in `extra_dirs`; a later file with the same name wins."""
    recipes: dict[str, Recipe] = {}
    for directory in (RECIPES_DIR, *extra_dirs):
        for path in sorted(Path(directory).glob("*.yaml")):
            recipe = load_recipe(path)
            recipes[recipe.name] = recipe
    return recipes


def recipe_for_entry(recipes: Mapping[str, Recipe], entry_kind: str) -> Recipe | None:
    """The recipe an entry kind triggers (by name order, so the choice is stable)."""
    matching: Sequence[Recipe] = [
        recipes[name] for name in sorted(recipes) if entry_kind in recipes[name].triggers
    ]
    return matching[0] if matching else None
