"""Building the protobuf messages of a solution from composition values, with the text for
people in the customer's language (from `gateway.i18n` catalogues)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from google.type import date_pb2, money_pb2

from adapters import HeldBooking, NotCovered, Offer
from bundles import Trip
from gateway.i18n import Texts
from gateway.money import from_money, to_money
from gateway.timestamps import timestamp_message
from partnergateway.v1 import solution_pb2


def date_message(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def trip_message(trip: Trip) -> solution_pb2.Trip:
    return solution_pb2.Trip(
        home_region_code=trip.home_region,
        origin_airport=trip.origin_airport,
        destination_region_code=trip.destination_region,
        destination_airport=trip.destination_airport,
        depart_date=date_message(trip.depart_date),
        return_date=date_message(trip.return_date),
        days=trip.days,
        travellers=[
            solution_pb2.TravellerProfile(
                age=t.age, driver=t.driver, residence_region_code=t.residence_region
            )
            for t in trip.travellers
        ],
    )


def traveller_notes(
    not_covered: Sequence[NotCovered], texts: Texts
) -> list[solution_pb2.TravellerNote]:
    if not not_covered:  # most offers cover everyone
        return []
    return [
        solution_pb2.TravellerNote(
            traveller_index=n.index,
            reason_code=n.reason,
            reason=texts.text(
                f"traveller.{n.reason}",
                default=texts.text("traveller.not_covered", number=n.index + 1),
                number=n.index + 1,
            ),
        )
        for n in sorted(not_covered, key=lambda n: n.index)
    ]


def offer_message(offer: Offer, partner_name: str, texts: Texts) -> solution_pb2.Offer:
    currency = offer.price.currency_code
    return solution_pb2.Offer(
        partner_id=offer.partner_id,
        partner_name=partner_name,
        offer_id=offer.offer_id,
        product_code=offer.product_code,
        title=offer.title,
        price=solution_pb2.Price(
            base=to_money(currency, offer.price.base),
            tax=to_money(currency, offer.price.tax),
            total=to_money(currency, offer.price.total),
            total_text=texts.money(offer.price.total, currency),
        ),
        rating=offer.rating,
        expire_time=timestamp_message(offer.expires_at),
        attributes=dict(offer.attributes),
        uncovered_travellers=traveller_notes(offer.not_covered, texts),
    )


def held_message(booking: HeldBooking, partner_name: str) -> solution_pb2.HeldProduct:
    return solution_pb2.HeldProduct(
        partner_id=booking.partner_id,
        partner_name=partner_name,
        reference=booking.reference,
        product_code=booking.product_code,
        title=booking.title,
        attributes=dict(booking.attributes),
    )


def totals_text(totals: Sequence[money_pb2.Money], texts: Texts) -> list[str]:
    return [texts.money(from_money(m), m.currency_code) for m in totals]
