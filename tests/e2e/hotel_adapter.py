"""A test-only adapter for a partner kind the product does not ship: hotels.

It is what an integration engineer would write for a new kind that speaks the reference
protocol: a body builder and the attributes worth showing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters import KindProtocol, PartnerAdapter, PartnerConfig, ReferenceAdapter, stringify


def quote_body(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "city_airport": params["city_airport"],
        "check_in": params["check_in"],
        "check_out": params["check_out"],
        "guests": params["guests"],
    }


def attributes(details: Mapping[str, Any]) -> dict[str, str]:
    return stringify(details, ("nights", "rooms"))


def create(config: PartnerConfig) -> PartnerAdapter:
    return ReferenceAdapter(config, KindProtocol("hotel", quote_body, attributes))
