"""Recipes as data, their schema and loader, and the reference data they derive from.

Knows nothing of the gateway or the adapters.
"""

from bundles import facts, geo
from bundles._expressions import ExpressionError
from bundles._recipe import (
    RECIPES_DIR,
    ComponentSpec,
    Condition,
    OfferRule,
    Recipe,
    RecipeError,
    SelectionPolicy,
    load_recipe,
    load_recipes,
    recipe_for_entry,
)
from bundles.facts import Facts, FactsError
from bundles.trip import CHILD_AGE_LIMIT, INFANT_AGE_LIMIT, TravellerFacts, Trip

__all__ = [
    "CHILD_AGE_LIMIT",
    "INFANT_AGE_LIMIT",
    "RECIPES_DIR",
    "ComponentSpec",
    "Condition",
    "ExpressionError",
    "Facts",
    "FactsError",
    "OfferRule",
    "Recipe",
    "RecipeError",
    "SelectionPolicy",
    "TravellerFacts",
    "Trip",
    "facts",
    "geo",
    "load_recipe",
    "load_recipes",
    "recipe_for_entry",
]
