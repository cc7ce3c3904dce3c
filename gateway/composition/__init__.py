"""Composition: fan-out to partners, selection, and the solution with its fingerprint.

The SolutionService RPCs that drive it live in `gateway.composition.service`; they are not
exported here, so importing the composer does not load the service's storage, privacy and
request handling."""

from gateway.composition.composer import Composer, CompositionReport, MayAsk, QuoteDisclosure
from gateway.composition.fanout import PartnerAnswer, ask_partners
from gateway.composition.fingerprint import fingerprint
from gateway.composition.selection import order_offers

__all__ = [
    "Composer",
    "CompositionReport",
    "MayAsk",
    "PartnerAnswer",
    "QuoteDisclosure",
    "ask_partners",
    "fingerprint",
    "order_offers",
]
