"""`PartnerState`: everything one running partner holds, reachable in-process by tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox._bookings import Bookings
from sandbox._catalogue import Catalogue, finish_offers
from sandbox._clock import Clock, rfc3339, system_clock
from sandbox._errors import PartnerError
from sandbox._faults import Faults
from sandbox._idempotency import IdempotencyStore
from sandbox._knobs import Knobs
from sandbox._ledger import Ledger
from sandbox._registry import build_catalogue
from sandbox._spec import PartnerSpec
from sandbox._tokens import TokenAuthority

__all__ = ["PartnerState"]


class PartnerState:
    """Knobs, ledger, signing key, offers and holds of one partner.

    `issuer` is the partner's base URL (the `iss` of its tokens). Assigning `knobs`
    directly is allowed; `patch_knobs` is what `PATCH /_sandbox/knobs` does.
    """

    def __init__(self, spec: PartnerSpec, *, issuer: str, clock: Clock = system_clock) -> None:
        self.spec = spec
        self.issuer = issuer.rstrip("/")
        self.audience = spec.audience
        self.clock = clock
        self.catalogue: Catalogue = build_catalogue(spec, clock)
        self.knobs: Knobs = spec.knobs
        self.ledger = Ledger()
        self.tokens = TokenAuthority(
            issuer=self.issuer, audience=self.audience, clients=spec.client_secrets, clock=clock
        )
        self.faults = Faults(spec.partner_id)
        self.idempotency = IdempotencyStore()
        self.bookings = Bookings(spec.brand.code, clock)

    @property
    def partner_id(self) -> str:
        return self.spec.partner_id

    def patch_knobs(self, patch: Mapping[str, Any]) -> Knobs:
        """Apply a partial update; a new `error_rate` restarts its seeded sequence."""
        self.knobs = self.knobs.patched(patch)
        if "error_rate" in patch:
            self.faults.reseed()
        return self.knobs

    def take_fault(self, operation: str) -> PartnerError | None:
        """The fault the knobs inject into this call, if any (spends a `fail_next` rule)."""
        self.knobs, error = self.faults.draw(self.knobs, operation)
        return error

    def quote(self, request: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Offers for `request`, remembered so they can be held until they expire."""
        expires_at = int(self.clock()) + self.knobs.offer_ttl_s
        offers = self.price(request, expires_at)
        self.bookings.remember(offers, expires_at)
        return offers

    def price(self, request: Mapping[str, Any], expires_at: int) -> list[dict[str, Any]]:
        """The catalogue's offers for `request`, finished but not remembered (nothing can
        hold them): what a sale at the partner's own counter picks from."""
        drafts = self.catalogue.quote(request)
        return finish_offers(self.partner_id, request, drafts, rfc3339(expires_at))
