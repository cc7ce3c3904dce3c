"""Places the catalogues know: airports (with country, currency and time zone) and zones.

Time zones are fixed standard-time offsets on purpose: schedules stay deterministic on any
machine, with or without a tz database (the sandbox ignores daylight saving time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta, timezone

__all__ = [
    "AIRPORTS",
    "CHINESE_HUBS",
    "Airport",
    "distance_km",
    "region_zone",
]


@dataclass(frozen=True)
class Airport:
    """An airport: IATA code, city, CLDR region, position, local currency and UTC offset."""

    code: str
    city: str
    region: str
    lat: float
    lon: float
    currency: str
    utc_offset_min: int

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(minutes=self.utc_offset_min))


_AIRPORT_LIST = (
    Airport("CAN", "Guangzhou", "CN", 23.392, 113.299, "CNY", 480),
    Airport("PVG", "Shanghai", "CN", 31.144, 121.808, "CNY", 480),
    Airport("PEK", "Beijing", "CN", 40.080, 116.585, "CNY", 480),
    Airport("SZX", "Shenzhen", "CN", 22.639, 113.811, "CNY", 480),
    Airport("NRT", "Tokyo", "JP", 35.772, 140.393, "JPY", 540),
    Airport("KIX", "Osaka", "JP", 34.427, 135.244, "JPY", 540),
    Airport("ICN", "Seoul", "KR", 37.460, 126.441, "KRW", 540),
    Airport("BKK", "Bangkok", "TH", 13.690, 100.750, "THB", 420),
    Airport("SIN", "Singapore", "SG", 1.364, 103.991, "SGD", 480),
    Airport("SYD", "Sydney", "AU", -33.946, 151.177, "AUD", 600),
    Airport("CDG", "Paris", "FR", 49.010, 2.548, "EUR", 60),
    Airport("FRA", "Frankfurt", "DE", 50.033, 8.571, "EUR", 60),
    Airport("LHR", "London", "GB", 51.470, -0.454, "GBP", 0),
    Airport("LAX", "Los Angeles", "US", 33.942, -118.408, "USD", -480),
    Airport("JFK", "New York", "US", 40.640, -73.779, "USD", -300),
)

#: Every airport by IATA code, in a fixed order (hubs first).
AIRPORTS: dict[str, Airport] = {airport.code: airport for airport in _AIRPORT_LIST}

#: The Chinese hubs the sandbox airlines fly from.
CHINESE_HUBS = ("CAN", "PVG", "PEK", "SZX")

_ZONES: dict[str, frozenset[str]] = {
    "asia": frozenset(
        {
            "JP",
            "KR",
            "TH",
            "SG",
            "MY",
            "VN",
            "ID",
            "PH",
            "HK",
            "MO",
            "TW",
            "KH",
            "LA",
            "MN",
            "IN",
            "LK",
            "MV",
            "NP",
            "BN",
            "MM",
        }
    ),
    "europe": frozenset(
        {
            "FR",
            "DE",
            "GB",
            "IT",
            "ES",
            "PT",
            "NL",
            "BE",
            "LU",
            "CH",
            "AT",
            "IE",
            "DK",
            "SE",
            "NO",
            "FI",
            "IS",
            "PL",
            "CZ",
            "HU",
            "GR",
            "HR",
            "SI",
            "SK",
            "EE",
            "LV",
            "LT",
        }
    ),
    "americas": frozenset({"US", "CA", "MX", "BR", "AR", "CL", "PE", "CO"}),
    "oceania": frozenset({"AU", "NZ", "FJ"}),
}


def region_zone(region: str) -> str:
    """The travel zone of a CLDR region code; anything unlisted is `worldwide`."""
    for zone, regions in _ZONES.items():
        if region in regions:
            return zone
    return "worldwide"


def distance_km(a: Airport, b: Airport) -> int:
    """Great-circle distance, rounded to 10 km so float noise can never change a price."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    km = 2 * 6371.0 * math.asin(math.sqrt(h))
    return round(km / 10.0) * 10
