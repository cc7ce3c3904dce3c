"""The six sandbox partners every test, the demo and the benchmarks start by default."""

from __future__ import annotations

from decimal import Decimal

from sandbox._knobs import Knobs
from sandbox._spec import Brand, PartnerSpec

__all__ = ["DEFAULT_PARTNERS"]

DEFAULT_PARTNERS: tuple[PartnerSpec, ...] = (
    PartnerSpec(
        "telecom-cn",
        "telecom",
        "Dragon Mobile",
        Brand(code="DM", price_factor=Decimal("1.00"), rating=Decimal("4.3")),
        knobs=Knobs(latency_ms=30),
    ),
    PartnerSpec(
        "airline-a",
        "airline",
        "Eastern Sky Airlines",
        Brand(code="ES", price_factor=Decimal("1.00"), rating=Decimal("4.2")),
        knobs=Knobs(latency_ms=80),
    ),
    PartnerSpec(
        "airline-b",
        "airline",
        "Pearl River Airways",
        # Cheaper, rated a little lower, and not flying to Sydney, Frankfurt or New York
        # from everywhere: the selection policy has real choices to make.
        Brand(
            code="PR",
            price_factor=Decimal("0.94"),
            rating=Decimal("4.0"),
            not_served=frozenset({"SYD", "FRA", "PEK-JFK", "SZX-JFK", "SZX-LHR"}),
        ),
        knobs=Knobs(latency_ms=100),
    ),
    PartnerSpec(
        "insurer-a",
        "insurer",
        "Harbour Mutual Insurance",
        Brand(code="HM", price_factor=Decimal("1.00"), rating=Decimal("4.5")),
        knobs=Knobs(latency_ms=40),
    ),
    PartnerSpec(
        "car-a",
        "car_rental",
        "Orbit Car Rental",
        Brand(code="OR", price_factor=Decimal("1.00"), rating=Decimal("4.3")),
        knobs=Knobs(latency_ms=60),
    ),
    PartnerSpec(
        "car-b",
        "car_rental",
        "Meridian Rent-a-Car",
        Brand(
            code="MR",
            price_factor=Decimal("0.95"),
            rating=Decimal("4.1"),
            not_served=frozenset({"SYD", "ICN", "FRA", "KIX"}),
        ),
        knobs=Knobs(latency_ms=70),
    ),
)
