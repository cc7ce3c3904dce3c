"""Composition: fan-out to partners, selection, and the solution with its fingerprint."""

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
