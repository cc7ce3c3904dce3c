"""Telecom operators (component `connectivity`): roaming packs over the reference protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters._interface import PartnerAdapter
from adapters._model import PartnerConfig
from adapters._reference import KindProtocol, ReferenceAdapter, stringify


def quote_body(params: Mapping[str, Any]) -> dict[str, Any]:
    body = {
        "home_region": params["home_region"],
        "destination_region": params["destination_region"],
        "start_date": params["start_date"],
        "end_date": params["end_date"],
        "lines": params["lines"],
    }
    if params.get("subscriber_number"):
        body["subscriber_number"] = params["subscriber_number"]
    return body


def attributes(details: Mapping[str, Any]) -> dict[str, str]:
    return stringify(details, ("zone", "validity_days", "data_gb", "voice_minutes", "lines"))


PROTOCOL = KindProtocol(kind="telecom", quote_body=quote_body, attributes=attributes)


def create(config: PartnerConfig) -> PartnerAdapter:
    return ReferenceAdapter(config, PROTOCOL)
