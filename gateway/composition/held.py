"""Products the customer already holds: verified with their partner before a plan is built
on them, so a caller cannot invent bookings.

The entry's own booking (a flight's PNR, a policy number, a rental reference) and the
`held_products` a request lists are retrieved through the partner's adapter, concurrently and
inside the composition's deadline. A reference the partner does not know, a cancelled booking
or one for another party is an input error naming its field; a partner that cannot be asked
right now is UNAVAILABLE (retry), never a plan built on an unverified product.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import grpc

from adapters import AdapterError, BookingNotFound, BookingStatus, HeldBooking
from bundles import Recipe, Trip, geo
from bundles.facts import trip_places
from gateway.errors import GatewayError, InvalidRequestError
from gateway.partners import PartnerDirectory
from gateway.validation import Violations, shown


@dataclass(frozen=True)
class HeldReference:
    """A product the request says the customer holds, and the request field that says so."""

    field: str
    partner_id: str
    reference: str
    from_entry: bool


class HeldProductUnverifiableError(GatewayError):
    """A partner could not be asked about a product the customer holds; nothing is composed
    on a product the gateway could not verify."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "HELD_PRODUCT_UNVERIFIED"
    retry_after_s = 1.0


@dataclass(frozen=True)
class _Target:
    ref: HeldReference
    component: str
    partner_kind: str


async def retrieve_held(
    refs: Sequence[HeldReference],
    directory: PartnerDirectory,
    recipe: Recipe,
    trip: Trip,
    deadline: float,
    may_ask: Callable[[str, str], bool],
) -> dict[str, HeldBooking]:
    """Component kind → the verified booking; raises `InvalidRequestError` naming every bad
    reference, or `HeldProductUnverifiableError` when a partner cannot answer now."""
    v = Violations()
    targets: list[_Target] = []
    seen: dict[str, str] = {}
    for ref in refs:
        kind = directory.kinds.get(ref.partner_id, "")
        spec = next((c for c in recipe.components if c.partner_kind == kind), None)
        if spec is None:
            v.add(ref.field, f"{ref.partner_id} sells nothing the {recipe.name} plan holds")
            continue
        if spec.kind in seen:
            v.add(ref.field, f"a {spec.kind} is already held ({seen[spec.kind]})")
            continue
        seen[spec.kind] = ref.field
        if not ref.from_entry and not may_ask(ref.partner_id, kind):
            v.add(
                ref.field,
                f"the customer's consent does not cover {ref.partner_id}, which holds it",
            )
            continue
        targets.append(_Target(ref, spec.kind, kind))
    if v:
        raise InvalidRequestError(v.items)
    answers = await asyncio.gather(*(_retrieve(directory, t, deadline) for t in targets))
    held: dict[str, HeldBooking] = {}
    unverified: list[str] = []
    for target, answer in zip(targets, answers, strict=True):
        if isinstance(answer, BookingNotFound):
            v.add(
                target.ref.field,
                f"{target.ref.partner_id} knows no booking {shown(target.ref.reference)}",
            )
        elif isinstance(answer, BaseException):
            unverified.append(f"{target.ref.partner_id} ({target.ref.reference})")
        else:
            _check(v, target, answer, trip)
            held[target.component] = answer
    if v:
        raise InvalidRequestError(v.items)
    if unverified:
        raise HeldProductUnverifiableError(
            f"could not verify the held {', '.join(unverified)} with the partner; try again",
            {"partners": ",".join(sorted({t.ref.partner_id for t in targets}))},
        )
    return held


async def _retrieve(
    directory: PartnerDirectory, target: _Target, deadline: float
) -> HeldBooking | BaseException:
    adapter = directory.adapters()[target.ref.partner_id]
    try:
        async with asyncio.timeout_at(deadline):
            return await adapter.retrieve(target.ref.reference, deadline=deadline)
    except (AdapterError, TimeoutError) as exc:
        return exc


def _check(v: Violations, target: _Target, booking: HeldBooking, trip: Trip) -> None:
    field, partner = target.ref.field, target.ref.partner_id
    if booking.status != BookingStatus.CONFIRMED:
        v.add(field, f"booking {shown(booking.reference)} is {booking.status} at {partner}")
    travellers = len(trip.travellers)
    if booking.traveller_count is not None and booking.traveller_count != travellers:
        v.add(
            field,
            f"booking {shown(booking.reference)} is for {booking.traveller_count} travellers, "
            f"but {travellers} are travelling",
        )
    places = trip_places(target.partner_kind, booking.attributes)
    if places:
        destination = geo.airport(places["destination_airport"])
        if destination is None or destination.region_code != trip.destination_region:
            v.add(
                field,
                f"booking {shown(booking.reference)} does not go to {trip.destination_region}",
            )


def trip_around(trip: Trip, held: Mapping[str, HeldBooking], recipe: Recipe) -> Trip:
    """The trip as the held flight really flies it (its airports), so every other component
    is planned from where the customer actually leaves and lands."""
    for kind, booking in sorted(held.items()):
        spec = recipe.component(kind)
        places = trip_places(spec.partner_kind, booking.attributes) if spec else {}
        if places and all(geo.airport(code) for code in places.values()):
            trip = replace(
                trip,
                origin_airport=places["origin_airport"],
                destination_airport=places["destination_airport"],
            )
    return trip
