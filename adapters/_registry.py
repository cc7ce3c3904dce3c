"""Finds the adapter factory for a partner: a bundled kind, or any `module:attribute`."""

from __future__ import annotations

import importlib

from adapters._interface import AdapterFactory, PartnerAdapter
from adapters._model import PartnerConfig

BUILTIN_ADAPTERS = {
    "telecom": "adapters.telecom:create",
    "airline": "adapters.airline:create",
    "insurer": "adapters.insurer:create",
    "car_rental": "adapters.car_rental:create",
}


class UnknownAdapterError(LookupError):
    """The configured adapter cannot be found or is not a factory."""


def resolve_factory(reference: str) -> AdapterFactory:
    """`reference` is a bundled kind name (`airline`) or `package.module:factory`."""
    target = BUILTIN_ADAPTERS.get(reference, reference)
    module_name, _, attribute = target.partition(":")
    if not attribute:
        raise UnknownAdapterError(f"no adapter {reference!r}: use a kind or 'module:factory'")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise UnknownAdapterError(f"cannot load adapter {reference!r}: {exc}") from exc
    if not callable(factory):
        raise UnknownAdapterError(f"adapter {reference!r} is not callable")
    return factory  # type: ignore[no-any-return]


def create_adapter(config: PartnerConfig, adapter: str | None = None) -> PartnerAdapter:
    """Builds the adapter for `config`; by default the bundled one for its kind."""
    return resolve_factory(adapter or config.kind)(config)
