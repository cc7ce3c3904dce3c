"""Which offers a component may choose from (the recipe's offer rules), and why the first of
them was chosen or why there is none — as stable reason codes; text comes from catalogues."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from adapters import Offer
from bundles import ComponentSpec, ExpressionError, OfferRule, Trip
from gateway.composition.fanout import PartnerAnswer

log = logging.getLogger(__name__)

# Outcomes that say the partner could not answer, as opposed to having nothing to offer.
_COULD_NOT_ANSWER = frozenset(
    {
        "timeout",
        "unavailable",
        "rate_limited",
        "partner_error",
        "protocol_error",
        "auth_failed",
        "circuit_open",
        "bulkhead_full",
    }
)


@dataclass(frozen=True)
class Filtered:
    """The offers that pass every rule, and for each rule that discarded any, how many."""

    kept: list[Offer]
    discarded_by: dict[str, int]  # rule reason code → offers discarded


def apply_rules(
    offers: Sequence[Offer], spec: ComponentSpec, trip: Trip, now: datetime
) -> Filtered:
    kept: list[Offer] = []
    discarded: dict[str, int] = {}
    bounds = _bounds(spec, trip)  # once per composition, not once per offer
    for offer in offers:
        failed = next((r for r in spec.offer_rules if not _passes(offer, r, bounds, now)), None)
        if failed is None:
            kept.append(offer)
        else:
            discarded[failed.reason] = discarded.get(failed.reason, 0) + 1
    return Filtered(kept, discarded)


def _bounds(spec: ComponentSpec, trip: Trip) -> dict[OfferRule, int | None]:
    """Each `at_least` rule's bound for this trip; None when it cannot be evaluated (every
    offer then fails the rule)."""
    bounds: dict[OfferRule, int | None] = {}
    for rule in spec.offer_rules:
        if rule.at_least is None:
            continue
        try:
            bounds[rule] = spec.rule_bound(rule, trip)
        except ExpressionError:
            bounds[rule] = None
    return bounds


def _passes(
    offer: Offer, rule: OfferRule, bounds: dict[OfferRule, int | None], now: datetime
) -> bool:
    """An offer whose attribute is missing or unreadable fails: the gateway cannot vouch
    for it (a car that does not say how many it seats may not seat the family)."""
    value = offer.attributes.get(rule.attribute)
    if value is None:
        return False
    try:
        if rule.at_least is not None:
            bound = bounds[rule]
            return bound is not None and int(value) >= bound
        assert rule.after_now_minutes is not None
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if instant.tzinfo is None:
            return False
        return instant >= now + timedelta(minutes=rule.after_now_minutes)
    except ValueError:
        log.info("offer %s: attribute %s unreadable: %r", offer.offer_id, rule.attribute, value)
        return False


def chosen_because(ranked: Sequence[Offer], filtered_out: int) -> str:
    """Why `ranked[0]` won: against the runner-up, in the terms of the selection policy."""
    if len(ranked) == 1:
        return "only_fit" if filtered_out else "only_offer"
    best, second = ranked[0], ranked[1]
    if best.price.currency_code != second.price.currency_code:
        return "equal_offers"
    if best.price.total < second.price.total:
        return "cheapest"
    if best.price.total == second.price.total and best.rating > second.rating:
        return "better_rated"
    return "equal_offers"


def unavailable_because(answers: Sequence[PartnerAnswer], filtered: Filtered | None) -> str:
    """Why a component has no offer: a rule discarded every offer, the partners could not
    answer, or none has anything for this trip."""
    if filtered is not None and filtered.discarded_by:
        return max(sorted(filtered.discarded_by), key=lambda r: filtered.discarded_by[r])
    if any(a.outcome in _COULD_NOT_ANSWER for a in answers):
        return "partners_unavailable"
    return "no_offers"
