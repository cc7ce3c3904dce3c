"""Car-rental firms (component `car`): car classes at an airport over the reference protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters._interface import PartnerAdapter
from adapters._model import PartnerConfig
from adapters._reference import KindProtocol, ReferenceAdapter, stringify


def quote_body(params: Mapping[str, Any]) -> dict[str, Any]:
    body = {
        "pickup_location": params["pickup_location"],
        "pickup_date": params["pickup_date"],
        "return_date": params["return_date"],
        "driver_age": params["driver_age"],
    }
    # The party's size and its drivers decide which cars fit; the partner assumes one of each.
    for key in ("passengers", "drivers"):
        if key in params:
            body[key] = params[key]
    return body


def attributes(details: Mapping[str, Any]) -> dict[str, str]:
    return stringify(
        details,
        (
            "car_class",
            "example_model",
            "seats",
            "cars",
            "transmission",
            "rental_days",
            "pickup_location",
        ),
    )


PROTOCOL = KindProtocol(kind="car_rental", quote_body=quote_body, attributes=attributes)


def create(config: PartnerConfig) -> PartnerAdapter:
    return ReferenceAdapter(config, PROTOCOL)
