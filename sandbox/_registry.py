"""Which catalogue sells what: a registry from partner kind to catalogue factory.

A test or an integration adds a new kind (`hotel`) with `register_catalogue` — no edit to
the sandbox. A factory gets the `PartnerSpec`, so brand parameters can shape the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox._catalogue import Catalogue
from sandbox._spec import PartnerSpec
from sandbox.catalogues import (
    AirlineCatalogue,
    CarRentalCatalogue,
    InsurerCatalogue,
    TelecomCatalogue,
)

__all__ = ["CatalogueFactory", "build_catalogue", "register_catalogue", "registered_kinds"]

#: Builds the catalogue of one partner from its spec.
CatalogueFactory = Callable[[PartnerSpec], Catalogue]

_FACTORIES: dict[str, CatalogueFactory] = {
    "telecom": TelecomCatalogue,
    "airline": AirlineCatalogue,
    "insurer": InsurerCatalogue,
    "car_rental": CarRentalCatalogue,
}


def register_catalogue(kind: str, factory: CatalogueFactory, *, replace: bool = False) -> None:
    """Serve partners of `kind` with catalogues from `factory`.

    Registering a kind twice is refused unless `replace=True`, so two plug-ins cannot
    silently shadow each other.
    """
    if kind in _FACTORIES and not replace:
        raise ValueError(f"a catalogue for kind {kind!r} is already registered")
    _FACTORIES[kind] = factory


def registered_kinds() -> tuple[str, ...]:
    """The kinds a `PartnerSpec` can name without bringing its own catalogue."""
    return tuple(_FACTORIES)


def build_catalogue(spec: PartnerSpec) -> Catalogue:
    """The spec's own catalogue, or one from the factory registered for its kind."""
    if spec.catalogue is not None:
        return spec.catalogue
    try:
        factory = _FACTORIES[spec.kind]
    except KeyError:
        raise ValueError(
            f"partner {spec.partner_id!r}: no catalogue registered for kind {spec.kind!r}"
        ) from None
    return factory(spec)
