"""Insurers (component `insurance`): travel policies over the reference protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters._currencies import check_currency_code
from adapters._interface import PartnerAdapter
from adapters._model import PartnerConfig
from adapters._reference import KindProtocol, ReferenceAdapter, stringify


def quote_body(params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "destination_region": params["destination_region"],
        "start_date": params["start_date"],
        "end_date": params["end_date"],
        "insured": [
            {"age": person["age"], "residence_region": person["residence_region"]}
            for person in params["insured"]
        ],
    }


def attributes(details: Mapping[str, Any]) -> dict[str, str]:
    shown = stringify(details, ("plan", "medical_cover", "cover_currency", "insured", "days"))
    if "cover_currency" in shown:  # customers read the cover in it: a real currency, too
        check_currency_code(shown["cover_currency"], "cover_currency")
    return shown


PROTOCOL = KindProtocol(kind="insurer", quote_body=quote_body, attributes=attributes)


def create(config: PartnerConfig) -> PartnerAdapter:
    return ReferenceAdapter(config, PROTOCOL)
