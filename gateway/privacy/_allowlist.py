"""Which traveller fields each partner kind receives with a hold, and nothing else.

The table is the single place that decides it (docs/security.md shows it to partners). A kind
missing from it receives no personal data at all: a new partner kind is closed by default.
Quotes never carry names or document numbers; they carry the trip and, where a price depends
on it, ages and residence (see the recipe's `params`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from gateway.validation import Violations, age_on
from partnergateway.v1 import entry_pb2, solution_pb2

HOLD_FIELDS: Mapping[str, tuple[str, ...]] = {
    # Advance passenger information: who flies, and on which passport.
    "airline": ("given_name", "family_name", "birth_date", "passport_number"),
    # Who is insured: names, birth date (the premium) and residence (the cover).
    "insurer": ("given_name", "family_name", "birth_date", "residence_region"),
    # Only the drivers: name, age (the rental terms) and licence.
    "car_rental": ("given_name", "family_name", "age", "driving_licence_number"),
    # The lines the roaming pack is for.
    "telecom": ("subscriber_number",),
}

# Kinds whose hold takes only the travellers who drive.
_DRIVERS_ONLY = frozenset({"car_rental"})

# What a booking cannot go without, per partner kind (beyond the names compose required).
_REQUIRED: Mapping[str, tuple[str, ...]] = {
    "airline": ("passport_number",),
    "car_rental": ("driving_licence_number",),
}


@dataclass(frozen=True)
class Disclosure:
    """The personal data one hold sends: minimised travellers, and the names of their fields."""

    travellers: tuple[Mapping[str, Any], ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        """`travellers[i].field` for every value sent, for the audit log."""
        return tuple(
            f"travellers[{i}].{name}"
            for i, traveller in enumerate(self.travellers)
            for name in sorted(traveller)
        )

    def to_json(self) -> str:
        return json.dumps([dict(t) for t in self.travellers], sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Disclosure:
        return cls(tuple(json.loads(text)))


def _all_values(
    person: entry_pb2.Traveller, profile: solution_pb2.TravellerProfile
) -> dict[str, Any]:
    birth = person.birth_date
    return {
        "given_name": person.given_name,
        "family_name": person.family_name,
        "birth_date": date(birth.year, birth.month, birth.day).isoformat() if birth.year else "",
        "passport_number": person.passport_number,
        "residence_region": person.residence_region_code,
        "age": profile.age,
        "driving_licence_number": person.driving_licence_number,
        "subscriber_number": person.phone_number,
    }


def disclosure_for(
    partner_kind: str,
    travellers: Sequence[entry_pb2.Traveller],
    profiles: Sequence[solution_pb2.TravellerProfile],
) -> Disclosure:
    """What a hold at a `partner_kind` partner sends: only its allow-listed fields, only of
    the travellers it concerns, and no empty values."""
    allowed = HOLD_FIELDS.get(partner_kind, ())
    sent: list[Mapping[str, Any]] = []
    for person, profile in zip(travellers, profiles, strict=True):
        if partner_kind in _DRIVERS_ONLY and not profile.driver:
            continue
        values = _all_values(person, profile)
        kept = {name: values[name] for name in allowed if values[name] not in ("", None)}
        if kept:
            sent.append(kept)
    return Disclosure(tuple(sent))


def booking_violations(
    v: Violations,
    travellers: Sequence[entry_pb2.Traveller],
    profiles: Sequence[solution_pb2.TravellerProfile],
    partner_kinds: Sequence[str],
    depart: date,
) -> None:
    """Checks a booking's travellers against the solution's: the same people (count, age on
    departure, driver) with what the accepted components' partners need. Descriptions never
    repeat a value: they travel back in error details and may end up in a caller's logs."""
    if len(travellers) != len(profiles):
        v.add(
            "travellers",
            f"the solution was composed for {len(profiles)} travellers, got {len(travellers)}",
        )
        return
    for i, (person, profile) in enumerate(zip(travellers, profiles, strict=True)):
        at = f"travellers[{i}]"
        v.text(f"{at}.given_name", person.given_name, required=True)
        v.text(f"{at}.family_name", person.family_name, required=True)
        v.document_number(f"{at}.passport_number", person.passport_number)
        v.document_number(f"{at}.driving_licence_number", person.driving_licence_number)
        v.phone(f"{at}.phone_number", person.phone_number, required=False)
        birth = v.calendar_date(f"{at}.birth_date", person.birth_date, echo=False)
        if birth is not None and age_on(birth, depart) != profile.age:
            v.add(f"{at}.birth_date", "does not match the traveller the solution was composed for")
        if person.driver != profile.driver:
            v.add(f"{at}.driver", "does not match the traveller the solution was composed for")
        for kind in partner_kinds:
            for name in _REQUIRED.get(kind, ()):
                needed = profile.driver or kind not in _DRIVERS_ONLY
                if needed and not getattr(person, name):
                    v.add(f"{at}.{name}", f"is required: the {kind} partner needs it to book")
