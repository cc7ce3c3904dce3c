"""Reference geography the recipes derive from: regions, airports, their primary airports.

Region codes are CLDR/ISO 3166-1 alpha-2 (plus CLDR's XK). Airports are the ones the
bundled recipe can plan a trip through; an unknown airport is an input error, not a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

# ISO 3166-1 alpha-2 assigned codes as used by CLDR, plus XK (Kosovo), which CLDR also uses.
REGION_CODES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW XK
    """.split()  # noqa: SIM905 - a block of codes reads better than 250 quoted strings
)


@dataclass(frozen=True)
class Airport:
    code: str
    region_code: str
    city: str
    time_zone: str  # IANA name: local dates at the airport follow daylight saving time

    def local(self, instant: datetime) -> datetime:
        """`instant` (aware) as the airport's local time."""
        return instant.astimezone(ZoneInfo(self.time_zone))


AIRPORTS: dict[str, Airport] = {
    a.code: a
    for a in (
        Airport("PVG", "CN", "Shanghai", "Asia/Shanghai"),
        Airport("PEK", "CN", "Beijing", "Asia/Shanghai"),
        Airport("CAN", "CN", "Guangzhou", "Asia/Shanghai"),
        Airport("SZX", "CN", "Shenzhen", "Asia/Shanghai"),
        Airport("NRT", "JP", "Tokyo", "Asia/Tokyo"),
        Airport("KIX", "JP", "Osaka", "Asia/Tokyo"),
        Airport("BKK", "TH", "Bangkok", "Asia/Bangkok"),
        Airport("CDG", "FR", "Paris", "Europe/Paris"),
        Airport("LAX", "US", "Los Angeles", "America/Los_Angeles"),
        Airport("JFK", "US", "New York", "America/New_York"),
        Airport("LHR", "GB", "London", "Europe/London"),
        Airport("SIN", "SG", "Singapore", "Asia/Singapore"),
        Airport("ICN", "KR", "Seoul", "Asia/Seoul"),
        Airport("SYD", "AU", "Sydney", "Australia/Sydney"),
        Airport("FRA", "DE", "Frankfurt", "Europe/Berlin"),
    )
}

# The airport a trip to (or from) a region goes through when the entry event names no airport.
PRIMARY_AIRPORT: dict[str, str] = {
    "CN": "PVG",
    "JP": "NRT",
    "TH": "BKK",
    "FR": "CDG",
    "US": "LAX",
    "GB": "LHR",
    "SG": "SIN",
    "KR": "ICN",
    "AU": "SYD",
    "DE": "FRA",
}


def is_region_code(code: str) -> bool:
    return code in REGION_CODES


def airport(code: str) -> Airport | None:
    return AIRPORTS.get(code)


def primary_airport(region_code: str) -> str | None:
    return PRIMARY_AIRPORT.get(region_code)
