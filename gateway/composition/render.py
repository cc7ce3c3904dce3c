"""Building the protobuf messages of a solution from composition values."""

from __future__ import annotations

from datetime import date

from google.protobuf import timestamp_pb2
from google.type import date_pb2

from adapters import Offer
from bundles import Trip
from gateway.money import to_money
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


def offer_message(offer: Offer, partner_name: str) -> solution_pb2.Offer:
    expire = timestamp_pb2.Timestamp()
    expire.FromDatetime(offer.expires_at)
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
        ),
        rating=offer.rating,
        expire_time=expire,
        attributes=dict(offer.attributes),
    )
