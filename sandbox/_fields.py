"""Reading fields out of a quote request, each failure a `400 invalid_request` naming the field.

Catalogues call these so every kind reports bad input the same way: the message says what
was expected and `field` is the JSON path (`insured[1].age`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from sandbox._errors import CatalogueError

__all__ = [
    "read_date",
    "read_int",
    "read_list",
    "read_object",
    "read_objects",
    "read_str",
    "require_date_order",
]


# Marks "no default": the field is required.
_MISSING = object()


def _get(body: Mapping[str, Any], name: str, path: str, default: object) -> object:
    if name in body and body[name] is not None:
        return body[name]
    if default is _MISSING:
        raise CatalogueError(f"{path} is required", path)
    return default


def read_str(
    body: Mapping[str, Any],
    name: str,
    *,
    pattern: str | None = None,
    choices: tuple[str, ...] | None = None,
    default: str | None = None,
    path: str | None = None,
) -> str:
    """A string field, optionally matching `pattern` (full match) or one of `choices`."""
    path = path or name
    value = _get(body, name, path, _MISSING if default is None else default)
    if not isinstance(value, str):
        raise CatalogueError(f"{path} must be a string", path)
    if pattern is not None and re.fullmatch(pattern, value) is None:
        raise CatalogueError(f"{path} {value!r} is malformed", path)
    if choices is not None and value not in choices:
        raise CatalogueError(f"{path} must be one of {', '.join(choices)}", path)
    return value


def read_int(
    body: Mapping[str, Any],
    name: str,
    *,
    low: int,
    high: int,
    default: int | None = None,
    path: str | None = None,
) -> int:
    """An integer field within `low..high` inclusive (booleans are not integers here)."""
    path = path or name
    value = _get(body, name, path, _MISSING if default is None else default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CatalogueError(f"{path} must be an integer", path)
    if not low <= value <= high:
        raise CatalogueError(f"{path} must be between {low} and {high}", path)
    return value


def read_date(body: Mapping[str, Any], name: str) -> date:
    """An ISO-8601 calendar date `YYYY-MM-DD`."""
    value = read_str(body, name, pattern=r"\d{4}-\d{2}-\d{2}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CatalogueError(f"{name} {value!r} is not a calendar date", name) from None


def require_date_order(first: date, last: date, last_name: str, first_name: str) -> None:
    """Refuse a range that ends before it starts, naming the later field."""
    if last < first:
        raise CatalogueError(f"{last_name} is before {first_name}", last_name)


def read_object(body: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A nested JSON object."""
    value = _get(body, name, name, _MISSING)
    if not isinstance(value, dict):
        raise CatalogueError(f"{name} must be an object", name)
    return value


def read_list(body: Mapping[str, Any], name: str, *, low: int, high: int) -> list[Any]:
    """A JSON array with `low..high` items."""
    value = _get(body, name, name, _MISSING)
    if not isinstance(value, list):
        raise CatalogueError(f"{name} must be an array", name)
    if not low <= len(value) <= high:
        raise CatalogueError(f"{name} must have between {low} and {high} items", name)
    return value


def read_objects(
    body: Mapping[str, Any], name: str, *, low: int, high: int
) -> list[tuple[str, Mapping[str, Any]]]:
    """A JSON array of `low..high` objects, each with its path (`insured[1]`)."""
    items: list[tuple[str, Mapping[str, Any]]] = []
    for i, item in enumerate(read_list(body, name, low=low, high=high)):
        path = f"{name}[{i}]"
        if not isinstance(item, dict):
            raise CatalogueError(f"{path} must be an object", path)
        items.append((path, item))
    return items
