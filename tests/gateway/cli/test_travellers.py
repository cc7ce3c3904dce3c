"""`--traveller` specs, and the travellers `book` sends for a solution."""

from __future__ import annotations

from datetime import date

import pytest
from google.type import date_pb2

from gateway.cli.travellers import booking_travellers, parse_traveller, with_home_airport
from gateway.client.journeys import sample_family
from partnergateway.v1 import solution_pb2

pytestmark = pytest.mark.unit

DEPART = date(2027, 3, 31)


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def trip(*profiles: tuple[int, bool, str]) -> solution_pb2.Trip:
    return solution_pb2.Trip(
        depart_date=date_pb2.Date(year=DEPART.year, month=DEPART.month, day=DEPART.day),
        travellers=[
            solution_pb2.TravellerProfile(age=a, driver=d, residence_region_code=r)
            for a, d, r in profiles
        ],
    )


def test_a_spec_gives_age_on_departure_driver_and_residence() -> None:
    lead = parse_traveller("age=35, driver, residence=gb", 0, DEPART)
    child = parse_traveller("age=0", 1, DEPART)

    assert age_on(lead.birth_date, DEPART) == 35
    assert (lead.driver, lead.residence_region_code, lead.home_airport) == (True, "GB", "LHR")
    assert lead.phone_number  # the lead's number is what a roaming entry reports
    assert age_on(child.birth_date, DEPART) == 0
    assert (child.driver, child.residence_region_code, child.phone_number) == (False, "CN", "")
    assert lead.family_name != child.family_name


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("driver", "gives no age"),
        ("age=121", "age must be a whole number from 0 to 120"),
        ("age=-1", "age must be a whole number"),
        ("age=30,residence=Narnia", "is not a region code"),
        ("age=30,pilot", "'pilot' is not age=N, driver or residence=CC"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(spec: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_traveller(spec, 0, DEPART)


def test_the_origin_applies_to_every_traveller() -> None:
    assert {p.home_airport for p in with_home_airport(sample_family(), "PEK")} == {"PEK"}


def test_a_solution_for_the_sample_family_is_booked_with_the_sample_family() -> None:
    family = sample_family()
    composed = trip(*((age_on(p.birth_date, DEPART), p.driver, "CN") for p in family))

    travellers, made_up = booking_travellers(composed)

    assert (travellers, made_up) == (family, False)


def test_other_travellers_are_matched_with_placeholders() -> None:
    travellers, made_up = booking_travellers(trip((35, True, "CN"), (8, False, "JP")))

    assert made_up
    assert [(age_on(p.birth_date, DEPART), p.driver) for p in travellers] == [
        (35, True),
        (8, False),
    ]
    assert [p.residence_region_code for p in travellers] == ["CN", "JP"]
    # What a hold needs: a passport each, a licence for the driver.
    assert all(p.passport_number for p in travellers)
    assert [bool(p.driving_licence_number) for p in travellers] == [True, False]
