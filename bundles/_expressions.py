"""The tiny expression language of recipe parameters.

A parameter value is one of:
- a literal (`economy`, `2`),
- a reference `$trip.<field>` (or `$item.<field>` inside `each`),
- a mapping over a list: `{each: $trip.travellers, map: {age: $item.age}}`,
- a mapping of parameters (evaluated key by key).
Anything else is a recipe error found when the recipe is loaded, not when a customer asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ExpressionError(ValueError):
    """A recipe expression refers to something that does not exist."""


def evaluate(expression: Any, scope: Mapping[str, Any]) -> Any:
    if isinstance(expression, str) and expression.startswith("$"):
        return _resolve(expression, scope)
    if isinstance(expression, Mapping):
        if "each" in expression:
            items = evaluate(expression["each"], scope)
            if not isinstance(items, list):
                raise ExpressionError(f"{expression['each']} is not a list")
            return [evaluate(expression["map"], {**scope, "item": item}) for item in items]
        return {key: evaluate(value, scope) for key, value in expression.items()}
    if isinstance(expression, list):
        return [evaluate(value, scope) for value in expression]
    return expression


def _resolve(reference: str, scope: Mapping[str, Any]) -> Any:
    value: Any = scope
    for part in reference[1:].split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise ExpressionError(f"unknown reference {reference}")
        value = value[part]
    return value
