"""Field checks shared by the normalizer: each returns violations instead of raising."""

from __future__ import annotations

import re
from datetime import date

from google.type import date_pb2

from bundles import geo
from gateway.errors import FieldViolation

MAX_TRAVELLERS = 9
MAX_NAME_LENGTH = 100
MAX_REQUEST_ID_LENGTH = 128
MAX_TRIP_DAYS = 180
MAX_DAYS_AHEAD = 366
MAX_REFERENCE_LENGTH = 64
MAX_SHOWN_LENGTH = 40

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_IATA = re.compile(r"^[A-Z]{3}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Passport and licence numbers: letters, digits, and the separators some countries print.
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9 -]{3,23}[A-Z0-9]$")
MAX_NOTICE_VERSION_LENGTH = 32


def age_on(birth: date, on: date) -> int:
    """Age in whole years on `on`."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def shown(value: str, limit: int = MAX_SHOWN_LENGTH) -> str:
    """`value` quoted for an error description, cut short: errors travel in trailing
    metadata, and a request must not make the gateway echo megabytes back."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value)} characters)"


class Violations:
    """Collects every problem of a request, so the caller learns all of them at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field=field, description=description))

    def __bool__(self) -> bool:
        return bool(self.items)

    def calendar_date(
        self, field: str, value: date_pb2.Date, *, required: bool = True, echo: bool = True
    ) -> date | None:
        """`echo=False` for personal data (birth dates): the description omits the value."""
        if value.year == 0 and value.month == 0 and value.day == 0:
            if required:
                self.add(field, "is required")
            return None
        try:
            return date(value.year, value.month, value.day)
        except ValueError:
            shown_value = f"{value.year:04d}-{value.month:02d}-{value.day:02d} " if echo else ""
            self.add(field, f"{shown_value}is not a date")
            return None

    def region(self, field: str, code: str) -> str | None:
        if not code:
            self.add(field, "is required")
            return None
        if not geo.is_region_code(code):
            self.add(field, f"{shown(code)} is not a CLDR region code (for example 'JP')")
            return None
        return code

    def airport(self, field: str, code: str, *, required: bool = True) -> geo.Airport | None:
        if not code:
            if required:
                self.add(field, "is required")
            return None
        if not _IATA.match(code):
            self.add(field, f"{shown(code)} is not an IATA airport code (three capital letters)")
            return None
        found = geo.airport(code)
        if found is None:
            known = ", ".join(sorted(geo.AIRPORTS))
            self.add(field, f"airport {code!r} is not served; served airports: {known}")
        return found

    def text(self, field: str, value: str, *, required: bool, limit: int = MAX_NAME_LENGTH) -> None:
        if required and not value.strip():
            self.add(field, "is required")
        elif len(value) > limit:
            self.add(field, f"is longer than {limit} characters")

    def phone(self, field: str, value: str, *, required: bool) -> None:
        if not value:
            if required:
                self.add(field, "is required")
        elif not _E164.match(value):
            self.add(field, "is not an E.164 number (for example '+8613800138000')")

    def document_number(self, field: str, value: str) -> None:
        """An optional passport or licence number; the description never repeats it."""
        if value and not _DOCUMENT_NUMBER.match(value):
            self.add(field, "must be 5 to 25 capital letters, digits, spaces or hyphens")

    def request_id(self, field: str, value: str) -> None:
        if len(value) > MAX_REQUEST_ID_LENGTH:
            self.add(field, f"is longer than {MAX_REQUEST_ID_LENGTH} characters")
        elif value and not _REQUEST_ID.match(value):
            self.add(field, "may only hold letters, digits and . _ : -")

    def language(self, field: str, value: str) -> None:
        if value and (len(value) > 35 or not _LANGUAGE.match(value)):
            self.add(field, f"{shown(value)} is not a BCP-47 language tag (for example 'en')")

    def partner_id(self, field: str, value: str) -> bool:
        if not value:
            self.add(field, "is required")
            return False
        if not _PARTNER_ID.match(value):
            self.add(field, "is not a partner id")
            return False
        return True

    def trip_dates(
        self,
        depart_field: str,
        depart: date | None,
        return_field: str,
        back: date | None,
        today: date,
    ) -> None:
        if depart is not None and depart < today:
            self.add(depart_field, f"{depart.isoformat()} is in the past")
        elif depart is not None and (depart - today).days > MAX_DAYS_AHEAD:
            self.add(depart_field, f"is more than {MAX_DAYS_AHEAD} days ahead")
        if depart is not None and back is not None:
            if back < depart:
                self.add(return_field, "is before the departure date")
            elif (back - depart).days + 1 > MAX_TRIP_DAYS:
                self.add(return_field, f"makes a trip longer than {MAX_TRIP_DAYS} days")
