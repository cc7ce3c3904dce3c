"""The fingerprint of a solution's canonical content.

Covers the recipe, the trip and every component's kind, status, chosen offer and
alternatives with their prices. Leaves out what differs between two compositions of the
same trip: ids, times (creation, offer expiry), the entry, and free-text reasons.
"""

from __future__ import annotations

import hashlib
import json

from google.protobuf import json_format

from partnergateway.v1 import solution_pb2


def fingerprint(solution: solution_pb2.Solution) -> str:
    canonical = solution_pb2.Solution()
    canonical.CopyFrom(solution)
    for name in (
        "solution_id",
        "fingerprint",
        "entry",
        "create_time",
        "expire_time",
        "consent_id",
    ):
        canonical.ClearField(name)
    for component in canonical.components:
        component.ClearField("reason")
        component.ClearField("partners")
        offers = [component.offer] if component.HasField("offer") else []
        for offer in [*offers, *component.alternatives]:
            offer.ClearField("expire_time")
    document = json_format.MessageToDict(canonical, preserving_proto_field_name=True)
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
