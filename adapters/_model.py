"""Plain values exchanged across the adapter seam: what is asked of a partner, what it offers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient partner failure is retried."""

    max_attempts: int = 3
    initial_backoff_s: float = 0.05
    max_backoff_s: float = 1.0
    jitter_s: float = 0.05
    budget_ratio: float = 0.2
    """Retries may add at most this share of a partner's calls..."""
    budget_min_per_s: float = 5.0
    """...plus this many per second, so a failing partner is not hammered by retries."""

    def __post_init__(self) -> None:
        # A policy that cannot work is refused where it is made, not found out under load.
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("initial_backoff_s", "max_backoff_s", "jitter_s", "budget_ratio"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.budget_min_per_s < 0:
            raise ValueError(f"budget_min_per_s must not be negative, got {self.budget_min_per_s}")
        if self.max_backoff_s < self.initial_backoff_s:
            raise ValueError("max_backoff_s must be at least initial_backoff_s")


@dataclass(frozen=True)
class PartnerConfig:
    """Everything an adapter needs to reach one partner. Built from settings at the edge."""

    partner_id: str
    kind: str
    name: str
    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    connect_timeout_s: float = 2.0
    max_connections: int = 100
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class QuoteRequest:
    """A component's parameters as the recipe derived them (JSON-ready, canonical names)."""

    component: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Price:
    """A price in one currency: base plus tax, as exact decimals in the major unit."""

    currency_code: str
    base: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.base + self.tax


@dataclass(frozen=True)
class NotCovered:
    """A traveller an offer leaves out: `index` into the request's travellers, and `reason`,
    a machine-readable code (`age_not_covered`)."""

    index: int
    reason: str


@dataclass(frozen=True)
class Offer:
    """One partner offer for one component.

    `not_covered` lists the travellers it does not cover (its price is for the others);
    empty when it covers everyone."""

    partner_id: str
    offer_id: str
    product_code: str
    title: str
    price: Price
    rating: float
    expires_at: datetime
    attributes: Mapping[str, str]
    not_covered: tuple[NotCovered, ...] = ()


class BookingStatus(StrEnum):
    """What became of a booking a partner made."""

    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class HeldBooking:
    """A booking the customer holds at a partner, as the partner describes it by reference.

    `attributes` are the booked product's details, shown as an offer's are;
    `traveller_count` is None when the partner does not say whom the booking is for."""

    partner_id: str
    reference: str
    status: BookingStatus
    offer_id: str
    product_code: str
    title: str
    price: Price
    attributes: Mapping[str, str]
    traveller_count: int | None


@dataclass(frozen=True)
class Hold:
    """A partner's hold on an offer, until `expires_at`."""

    hold_id: str
    expires_at: datetime | None


@dataclass(frozen=True)
class Confirmation:
    """A confirmed booking: `reference` is the partner's (PNR, policy or booking number)."""

    hold_id: str
    reference: str


@dataclass(frozen=True)
class Cancellation:
    """A cancelled hold or booking, and what the partner refunds (None: nothing charged)."""

    hold_id: str
    refund: Price | None
