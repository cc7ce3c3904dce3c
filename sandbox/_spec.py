"""What a sandbox partner is: `PartnerSpec` (identity, kind, clients, knobs) and its `Brand`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from sandbox._catalogue import Catalogue
from sandbox._knobs import Knobs

__all__ = ["GATEWAY_CLIENT_ID", "Brand", "PartnerSpec"]

#: The OAuth client every sandbox partner registers for the gateway by default.
GATEWAY_CLIENT_ID = "partner-gateway"


@dataclass(frozen=True)
class Brand:
    """What makes two competing partners of one kind differ.

    `code` prefixes flight numbers, product codes and booking references; `price_factor`
    scales every price; `rating` is the base product rating (0..5); `not_served` lists
    locations (`"SYD"`) or routes (`"SZX-LHR"`) the partner does not serve.
    """

    code: str = "SX"
    price_factor: Decimal = Decimal("1.00")
    rating: Decimal = Decimal("4.2")
    not_served: frozenset[str] = frozenset()

    def serves(self, *locations: str) -> bool:
        """False when any location, or the route `A-B` they form, is excluded."""
        if any(location in self.not_served for location in locations):
            return False
        return "-".join(locations) not in self.not_served


def _default_clients(partner_id: str) -> Mapping[str, str]:
    return MappingProxyType({GATEWAY_CLIENT_ID: f"sandbox-secret-{partner_id}"})


@dataclass(frozen=True)
class PartnerSpec:
    """One sandbox partner.

    `kind` picks the catalogue from the registry (`register_catalogue`) unless `catalogue`
    is given. `clients` maps OAuth client ids to secrets; left out, it registers
    `partner-gateway` with secret `sandbox-secret-<partner_id>`. `knobs` are the initial knobs.
    """

    partner_id: str
    kind: str
    name: str
    brand: Brand = field(default_factory=Brand)
    # Left out of the hash: a mapping is not hashable, and the id already identifies a spec.
    clients: Mapping[str, str] | None = field(default=None, hash=False)
    knobs: Knobs = field(default_factory=Knobs)
    catalogue: Catalogue | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Frozen: fill the default in place once, so `spec.clients` is never None afterwards.
        clients = self.clients
        if clients is None:
            clients = _default_clients(self.partner_id)
        object.__setattr__(self, "clients", MappingProxyType(dict(clients)))

    @property
    def client_secrets(self) -> Mapping[str, str]:
        """The registered clients (typed without the `None` the constructor accepts)."""
        assert self.clients is not None  # filled by __post_init__
        return self.clients

    @property
    def audience(self) -> str:
        """The `aud` of this partner's access tokens."""
        return f"urn:partner:{self.partner_id}"
