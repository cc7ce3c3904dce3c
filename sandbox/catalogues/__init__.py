"""The built-in catalogues, one module per partner kind."""

from sandbox.catalogues.airline import AirlineCatalogue
from sandbox.catalogues.car_rental import CarRentalCatalogue
from sandbox.catalogues.insurer import InsurerCatalogue
from sandbox.catalogues.telecom import TelecomCatalogue

__all__ = ["AirlineCatalogue", "CarRentalCatalogue", "InsurerCatalogue", "TelecomCatalogue"]
