"""Recipes as data, their schema and loader, and the reference data they derive from.

Knows nothing of the gateway or the adapters.
"""

from bundles import geo
from bundles._expressions import ExpressionError
from bundles._recipe import (
    RECIPES_DIR,
    ComponentSpec,
    Condition,
    Recipe,
    RecipeError,
    SelectionPolicy,
    load_recipe,
    load_recipes,
    recipe_for_entry,
)
from bundles.trip import CHILD_AGE_LIMIT, TravellerFacts, Trip

__all__ = [
    "CHILD_AGE_LIMIT",
    "RECIPES_DIR",
    "ComponentSpec",
    "Condition",
    "ExpressionError",
    "Recipe",
    "RecipeError",
    "SelectionPolicy",
    "TravellerFacts",
    "Trip",
    "geo",
    "load_recipe",
    "load_recipes",
    "recipe_for_entry",
]
