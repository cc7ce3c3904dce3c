"""Airlines (component `flight`): round trips over the reference protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters._interface import PartnerAdapter
from adapters._model import PartnerConfig
from adapters._reference import KindProtocol, ReferenceAdapter, stringify


def quote_body(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "origin": params["origin"],
        "destination": params["destination"],
        "depart_date": params["depart_date"],
        "return_date": params["return_date"],
        "passengers": {"adults": params["adults"], "children": params["children"]},
        "cabin": params.get("cabin", "economy"),
    }


def attributes(details: Mapping[str, Any]) -> dict[str, str]:
    shown = stringify(details, ("cabin", "passengers"))
    for leg in ("outbound", "inbound"):
        segment = details.get(leg)
        if isinstance(segment, Mapping):
            for key in ("flight_number", "origin", "destination", "departs_at", "arrives_at"):
                if segment.get(key) is not None:
                    shown[f"{leg}_{key}"] = str(segment[key])
    return shown


PROTOCOL = KindProtocol(kind="airline", quote_body=quote_body, attributes=attributes)


def create(config: PartnerConfig) -> PartnerAdapter:
    return ReferenceAdapter(config, PROTOCOL)
