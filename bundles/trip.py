"""The canonical trip intent recipes derive from. Built by the gateway's normalizer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

CHILD_AGE_LIMIT = 12  # airlines' child fares end at 12
INFANT_AGE_LIMIT = 2  # infants travel on a parent's lap and need no phone line of their own


@dataclass(frozen=True)
class TravellerFacts:
    """A traveller without personal data: what composition may know."""

    age: int
    driver: bool
    residence_region: str


@dataclass(frozen=True)
class Trip:
    """The same trip gives the same Trip from every entry kind."""

    home_region: str
    origin_airport: str
    destination_region: str
    destination_airport: str
    depart_date: date
    return_date: date
    travellers: tuple[TravellerFacts, ...]

    @property
    def days(self) -> int:
        """Days away, counting the departure and the return day."""
        return (self.return_date - self.depart_date).days + 1

    def context(self) -> dict[str, Any]:
        """The trip as recipe expressions see it (`$trip.<name>`): JSON-ready values."""
        drivers = [t for t in self.travellers if t.driver]
        # The oldest driver drives: rental firms price by the main driver's age.
        lead_driver = max(drivers, key=lambda t: t.age) if drivers else None
        return {
            "home_region": self.home_region,
            "origin_airport": self.origin_airport,
            "destination_region": self.destination_region,
            "destination_airport": self.destination_airport,
            "depart_date": self.depart_date.isoformat(),
            "return_date": self.return_date.isoformat(),
            "days": self.days,
            "traveller_count": len(self.travellers),
            "line_count": sum(t.age >= INFANT_AGE_LIMIT for t in self.travellers),
            "adult_count": sum(t.age >= CHILD_AGE_LIMIT for t in self.travellers),
            "child_count": sum(t.age < CHILD_AGE_LIMIT for t in self.travellers),
            "driver_count": len(drivers),
            "lead_driver_age": lead_driver.age if lead_driver else None,
            "travellers": [
                {"age": t.age, "driver": t.driver, "residence_region": t.residence_region}
                for t in self.travellers
            ],
        }
