"""Car-rental reference data: rental stations (local prices and taxes) and car classes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["CLASSES", "STATIONS", "CarClass", "Station"]


@dataclass(frozen=True)
class Station:
    """An airport rental station: local currency, economy day rate, sales tax, young-driver
    surcharge per day, and the market whose fleet it rents."""

    currency: str
    economy_day_rate: Decimal
    tax_rate: Decimal
    young_driver_day: Decimal
    market: str


def _station(currency: str, rate: str, tax: str, young: str, market: str) -> Station:
    return Station(currency, Decimal(rate), Decimal(tax), Decimal(young), market)


STATIONS: dict[str, Station] = {
    "NRT": _station("JPY", "6500", "0.10", "1100", "jp"),
    "KIX": _station("JPY", "6000", "0.10", "1100", "jp"),
    "ICN": _station("KRW", "65000", "0.10", "10000", "kr"),
    "BKK": _station("THB", "1100", "0.07", "200", "th"),
    "SIN": _station("SGD", "90", "0.09", "30", "sg"),
    "SYD": _station("AUD", "65", "0.10", "27", "au"),
    "CDG": _station("EUR", "42", "0.20", "35", "eu"),
    "FRA": _station("EUR", "45", "0.19", "25", "eu"),
    "LHR": _station("GBP", "38", "0.20", "35", "eu"),
    "LAX": _station("USD", "48", "0.1025", "29", "us"),
    "JFK": _station("USD", "62", "0.08875", "29", "us"),
}


@dataclass(frozen=True)
class CarClass:
    """A car class: ACRISS category letters, seats, price multiple and example models."""

    name: str
    title: str
    acriss: str  # first two ACRISS letters; transmission and fuel letters are added per car
    seats: int
    factor: Decimal
    models: dict[str, str]  # market → example model
    manual_in_europe: bool = False
    min_age: int = 21


CLASSES: tuple[CarClass, ...] = (
    CarClass(
        "economy",
        "Economy",
        "EC",
        5,
        Decimal("1.00"),
        {
            "jp": "Toyota Yaris",
            "kr": "Kia Morning",
            "th": "Toyota Yaris Ativ",
            "sg": "Toyota Vios",
            "au": "Kia Picanto",
            "eu": "Peugeot 208",
            "us": "Mitsubishi Mirage",
        },
        manual_in_europe=True,
    ),
    CarClass(
        "compact",
        "Compact",
        "CD",
        5,
        Decimal("1.20"),
        {
            "jp": "Toyota Corolla",
            "kr": "Hyundai Avante",
            "th": "Honda City",
            "sg": "Toyota Corolla Altis",
            "au": "Toyota Corolla",
            "eu": "Volkswagen Golf",
            "us": "Nissan Versa",
        },
        manual_in_europe=True,
    ),
    CarClass(
        "intermediate",
        "Intermediate",
        "ID",
        5,
        Decimal("1.45"),
        {
            "jp": "Toyota Prius",
            "kr": "Hyundai Sonata",
            "th": "Toyota Corolla Altis",
            "sg": "Honda Civic",
            "au": "Toyota Camry",
            "eu": "Skoda Octavia",
            "us": "Toyota Camry",
        },
    ),
    CarClass(
        "suv",
        "SUV",
        "IF",
        5,
        Decimal("1.80"),
        {
            "jp": "Toyota RAV4",
            "kr": "Hyundai Tucson",
            "th": "Toyota Fortuner",
            "sg": "Honda Vezel",
            "au": "Toyota RAV4",
            "eu": "Peugeot 3008",
            "us": "Ford Explorer",
        },
    ),
    CarClass(
        "minivan",
        "Minivan",
        "FV",
        7,
        Decimal("2.10"),
        {
            "jp": "Toyota Noah",
            "kr": "Kia Carnival",
            "th": "Toyota Innova",
            "sg": "Toyota Sienta",
            "au": "Kia Carnival",
            "eu": "Volkswagen Touran",
            "us": "Chrysler Pacifica",
        },
    ),
    CarClass(
        "premium",
        "Premium",
        "PD",
        5,
        Decimal("2.60"),
        {
            "jp": "Lexus ES",
            "kr": "Genesis G80",
            "th": "Toyota Camry",
            "sg": "Mercedes-Benz C-Class",
            "au": "BMW 3 Series",
            "eu": "BMW 5 Series",
            "us": "Cadillac CT5",
        },
        min_age=25,  # premium cars are not rented to young drivers
    ),
)
