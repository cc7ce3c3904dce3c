"""Reference geography the recipes derive from: regions, airports, their primary airports.

Region codes are CLDR/ISO 3166-1 alpha-2 (plus CLDR's XK). Airports are the ones the
bundled recipe can plan a trip through; an unknown airport is an input error, not a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

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


AIRPORTS: dict[str, Airport] = {
    a.code: a
    for a in (
        Airport("PVG", "CN", "Shanghai"),
        Airport("PEK", "CN", "Beijing"),
        Airport("CAN", "CN", "Guangzhou"),
        Airport("SZX", "CN", "Shenzhen"),
        Airport("NRT", "JP", "Tokyo"),
        Airport("KIX", "JP", "Osaka"),
        Airport("BKK", "TH", "Bangkok"),
        Airport("CDG", "FR", "Paris"),
        Airport("LAX", "US", "Los Angeles"),
        Airport("JFK", "US", "New York"),
        Airport("LHR", "GB", "London"),
        Airport("SIN", "SG", "Singapore"),
        Airport("ICN", "KR", "Seoul"),
        Airport("SYD", "AU", "Sydney"),
        Airport("FRA", "DE", "Frankfurt"),
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

# E.164 country calling codes of the home regions the bundled partners serve.
CALLING_CODES: dict[str, str] = {"+86": "CN", "+852": "HK", "+853": "MO", "+886": "TW"}


def is_region_code(code: str) -> bool:
    return code in REGION_CODES


def airport(code: str) -> Airport | None:
    return AIRPORTS.get(code)


def primary_airport(region_code: str) -> str | None:
    return PRIMARY_AIRPORT.get(region_code)


def region_of_phone_number(number: str) -> str | None:
    """The home region of an E.164 number, for the calling codes we know."""
    for prefix in sorted(CALLING_CODES, key=len, reverse=True):
        if number.startswith(prefix):
            return CALLING_CODES[prefix]
    return None
