"""The fingerprint of a solution's canonical content.

Covers the recipe, the trip and every component's kind, status, reason code, held product,
chosen offer and alternatives with their prices. Leaves out what differs between two
compositions of the same trip: ids, times (creation, offer expiry), the entry, and all text for
people (titles, reasons, formatted prices, the language) — so the same trip with the same held
products gives the same fingerprint whoever reports it, in every language.

Hashed over protobuf's deterministic binary serialisation (map entries sorted by key), which
is stable for one schema and far cheaper than rendering JSON.
"""

from __future__ import annotations

import hashlib
from typing import Any

from partnergateway.v1 import solution_pb2

_SOLUTION_NOISE: tuple[Any, ...] = (
    "solution_id",
    "fingerprint",
    "entry",
    "create_time",
    "expire_time",
    "consent_id",
    "totals_text",
    "language_code",
)
_COMPONENT_TEXT: tuple[Any, ...] = ("reason", "partners", "title")


def fingerprint(solution: solution_pb2.Solution) -> str:
    canonical = solution_pb2.Solution()
    canonical.CopyFrom(solution)
    for name in _SOLUTION_NOISE:
        canonical.ClearField(name)
    for component in canonical.components:
        for name in _COMPONENT_TEXT:
            component.ClearField(name)
        for note in component.uncovered_travellers:
            note.ClearField("reason")
        offers = [component.offer] if component.HasField("offer") else []
        for offer in [*offers, *component.alternatives]:
            offer.ClearField("expire_time")
            offer.price.ClearField("total_text")
            for note in offer.uncovered_travellers:
                note.ClearField("reason")
    encoded = canonical.SerializeToString(deterministic=True)
    return hashlib.sha256(encoded).hexdigest()
