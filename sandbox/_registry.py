"""Which catalogue sells what: a registry from partner kind to catalogue factory.

A test or an integration adds a new kind (`hotel`) with `register_catalogue` — no edit to
the sandbox. A factory gets the `PartnerSpec`, so brand parameters can shape the catalogue.
Built-in catalogues also get the partner's clock: the airline stops selling flights that
leave too soon, and a test that fakes the clock must fake it for the catalogue too.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox._catalogue import Catalogue
from sandbox._clock import Clock, system_clock
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
# What the registry keeps: every factory, seen as one that may read the partner's clock.
_ClockedFactory = Callable[[PartnerSpec, Clock], Catalogue]


def _ignoring_clock(factory: CatalogueFactory) -> _ClockedFactory:
    return lambda spec, clock: factory(spec)


_FACTORIES: dict[str, _ClockedFactory] = {
    "telecom": _ignoring_clock(TelecomCatalogue),
    "airline": AirlineCatalogue,
    "insurer": _ignoring_clock(InsurerCatalogue),
    "car_rental": _ignoring_clock(CarRentalCatalogue),
}


def register_catalogue(kind: str, factory: CatalogueFactory, *, replace: bool = False) -> None:
    """Serve partners of `kind` with catalogues from `factory`.

    Registering a kind twice is refused unless `replace=True`, so two plug-ins cannot
    silently shadow each other.
    """
    if kind in _FACTORIES and not replace:
        raise ValueError(f"a catalogue for kind {kind!r} is already registered")
    _FACTORIES[kind] = _ignoring_clock(factory)


def registered_kinds() -> tuple[str, ...]:
    """The kinds a `PartnerSpec` can name without bringing its own catalogue."""
    return tuple(_FACTORIES)


def build_catalogue(spec: PartnerSpec, clock: Clock = system_clock) -> Catalogue:
    """The spec's own catalogue, or one from the factory registered for its kind (reading
    `clock` if it is a built-in one that needs the time)."""
    if spec.catalogue is not None:
        return spec.catalogue
    try:
        factory = _FACTORIES[spec.kind]
    except KeyError:
        raise ValueError(
            f"partner {spec.partner_id!r}: no catalogue registered for kind {spec.kind!r}"
        ) from None
    return factory(spec, clock)
