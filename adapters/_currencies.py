"""ISO 4217 alphabetic currency codes, so that a price a partner sends is in a real currency,
not merely three capital letters.

No dependency of the project carries the list (neither Babel nor pycountry is installed), and
a dependency for 178 codes is not worth it, so they are kept here, frozen: ISO 4217 List One
("current currency & funds") of the standard's maintenance agency, SIX Group
(https://www.six-group.com/en/products-services/financial-information/data-standards.html),
as it stood in November 2026, when this was compiled: after the withdrawals of HRK, SLL, ZWL,
ANG and BGN (Bulgaria adopted the euro on 2026-01-01), with SLE, VED, ZWG, XCG and XAD in.
Like List One, it has the fund codes (e.g. BOV, CLF, USN) and the X codes (precious metals,
SDR, XTS, XXX).

When the agency publishes an amendment, add the new codes here (offers priced in a currency
missing from this list are refused) and drop the withdrawn ones.
"""

from __future__ import annotations

__all__ = ["ISO_4217_CODES", "check_currency_code", "is_currency_code"]

ISO_4217_CODES: tuple[str, ...] = (
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM",
    "BBD", "BDT", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD",
    "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CLF",
    "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK",
    "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES",
    "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT",
    "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP",
    "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD",
    "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
    "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
    "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS",
    "VED", "VES", "VND", "VUV", "WST", "XAD", "XAF", "XAG", "XAU", "XBA",
    "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF", "XPT",
    "XSU", "XTS", "XUA", "XXX", "YER", "ZAR", "ZMW", "ZWG",
)  # fmt: skip

_KNOWN = frozenset(ISO_4217_CODES)


def is_currency_code(code: str) -> bool:
    """Whether `code` is a current ISO 4217 alphabetic code (exactly: upper case, no spaces)."""
    return code in _KNOWN


def check_currency_code(value: object, field: str = "currency_code") -> str:
    """`value` as a currency code; a ValueError naming `field` when it is not one."""
    code = str(value)
    if not is_currency_code(code):
        raise ValueError(f"{field} {code!r} is not an ISO 4217 currency code")
    return code
