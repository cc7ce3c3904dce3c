"""Recipes as data: their schema, and loading them from YAML files."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bundles._expressions import ExpressionError, evaluate
from bundles.facts import Facts, has_facts, provisional_facts
from bundles.trip import TravellerFacts, Trip

RECIPES_DIR = Path(__file__).parent / "recipes"
SortKey = Literal["total", "-total", "rating", "-rating", "partner_id", "offer_id"]
_COMPONENT_REFERENCE = re.compile(r"^\$component\.([a-z][a-z_]*)\.")
_REASON_CODE = r"^[a-z][a-z_]{0,39}$"


class RecipeError(ValueError):
    """A recipe file is malformed or refers to something that does not exist."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """The component applies only when the value at `path` is at least `at_least`; when it
    does not, the component is NOT_APPLICABLE with `reason` (a code with a catalogued text)."""

    path: str = Field(pattern=r"^\$trip\.[a-z_]+$")
    at_least: int
    reason: str | None = Field(default=None, pattern=_REASON_CODE)

    def holds(self, scope: Mapping[str, Any]) -> bool:
        value = evaluate(self.path, scope)
        return isinstance(value, int) and value >= self.at_least


class OfferRule(_Strict):
    """A rule every chosen offer must pass, read from one of its attributes.

    - `at_least`: the attribute, as a number, is at least this (an integer or a `$trip`
      reference), for example a car's `seats` at least `$trip.traveller_count`;
    - `after_now_minutes`: the attribute, an instant, is at least this many minutes from now,
      for example no flight that leaves before check-in could be made.
    Offers that fail are discarded; when none is left the component is UNAVAILABLE with
    `reason`.
    """

    attribute: str = Field(pattern=r"^[a-z][a-z_]*$")
    at_least: int | str | None = None
    after_now_minutes: int | None = Field(default=None, ge=0)
    reason: str = Field(pattern=_REASON_CODE)

    @model_validator(mode="after")
    def _one_test(self) -> OfferRule:
        if (self.at_least is None) == (self.after_now_minutes is None):
            raise ValueError("an offer rule needs exactly one of at_least, after_now_minutes")
        return self


class ComponentSpec(_Strict):
    """One component of a recipe and how its partner request derives from the trip and from
    the chosen (or held) offers of the components it depends on."""

    kind: str = Field(pattern=r"^[a-z][a-z_]*$")
    partner_kind: str = Field(pattern=r"^[a-z][a-z_]*$")
    title: str
    params: dict[str, Any]
    when: Condition | tuple[Condition, ...] | None = None
    not_applicable_reason: str = Field(default="not_applicable", pattern=_REASON_CODE)
    requires: tuple[str, ...] = ()
    """Components that must be chosen or held for this one to make sense (no car without a
    way to get there); otherwise this one is UNAVAILABLE, reason `depends_on_unavailable`."""
    offer_rules: tuple[OfferRule, ...] = ()

    @property
    def conditions(self) -> tuple[Condition, ...]:
        if self.when is None:
            return ()
        return self.when if isinstance(self.when, tuple) else (self.when,)

    @cached_property
    def depends_on(self) -> tuple[str, ...]:
        """Components this one reads (`$component.<kind>.…`) or requires, in name order.
        Computed once: asked several times per composition, and a spec never changes."""
        return tuple(sorted({*_component_references(self.params), *self.requires}))

    def not_applicable(self, trip: Trip) -> str | None:
        """The reason code of the first condition that fails, or None when it applies."""
        scope = {"trip": trip.context()}
        for condition in self.conditions:
            if not condition.holds(scope):
                return condition.reason or self.not_applicable_reason
        return None

    def applies(self, trip: Trip) -> bool:
        return self.not_applicable(trip) is None

    def derive(self, trip: Trip, components: Mapping[str, Facts] | None = None) -> dict[str, Any]:
        """The partner request parameters for this trip; `components` are the facts of the
        components this one depends on (chosen, held or provisional)."""
        result = evaluate(self.params, {"trip": trip.context(), "component": components or {}})
        assert isinstance(result, dict)
        return result

    def rule_bound(self, rule: OfferRule, trip: Trip) -> int:
        """An `at_least` rule's bound for this trip."""
        bound = evaluate(rule.at_least, {"trip": trip.context()})
        if not isinstance(bound, int):
            raise ExpressionError(f"{rule.at_least} is not a number")
        return bound


def _component_references(expression: Any) -> set[str]:
    if isinstance(expression, str):
        match = _COMPONENT_REFERENCE.match(expression)
        return {match.group(1)} if match else set()
    if isinstance(expression, Mapping):
        return {k for value in expression.values() for k in _component_references(value)}
    if isinstance(expression, list):
        return {k for value in expression for k in _component_references(value)}
    return set()


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

    def component(self, kind: str) -> ComponentSpec | None:
        return next((c for c in self.components if c.kind == kind), None)

    def check_dependencies(self) -> None:
        """Every dependency names another component of the recipe, whose partner kind has
        facts when they are read, and no component depends on itself through others."""
        kinds = {c.kind: c for c in self.components}
        for component in self.components:
            for kind in component.depends_on:
                target = kinds.get(kind)
                if target is None or kind == component.kind:
                    raise RecipeError(f"{self.name}: {component.kind} depends on unknown {kind}")
                if kind in _component_references(component.params) and not has_facts(
                    target.partner_kind
                ):
                    raise RecipeError(
                        f"{self.name}: {component.kind} reads {kind}, but {target.partner_kind} "
                        "offers expose no facts"
                    )
        visiting: set[str] = set()
        done: set[str] = set()

        def visit(kind: str) -> None:
            if kind in done:
                return
            if kind in visiting:
                raise RecipeError(f"{self.name}: components depend on each other through {kind}")
            visiting.add(kind)
            for dependency in kinds[kind].depends_on:
                visit(dependency)
            visiting.discard(kind)
            done.add(kind)

        for kind in kinds:
            visit(kind)

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
        facts = {c.kind: provisional_facts(c.partner_kind, sample) for c in self.components}
        for component in self.components:
            try:
                component.applies(sample)
                component.derive(sample, facts)
                for rule in component.offer_rules:
                    if rule.at_least is not None:
                        component.rule_bound(rule, sample)
            except ExpressionError as exc:
                raise RecipeError(f"{self.name}: component {component.kind}: {exc}") from exc


def load_recipe(path: Path) -> Recipe:
    try:
        recipe = Recipe.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise RecipeError(f"{path}: {exc}") from exc
    recipe.check_dependencies()
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
