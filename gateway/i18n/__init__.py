"""Localisation: the customer's language from BCP-47, catalogued text, money per locale."""

from gateway.i18n._catalogue import LOCALES_DIR, Texts, texts
from gateway.i18n._errors import localized
from gateway.i18n._language import Language, negotiate

__all__ = ["LOCALES_DIR", "Language", "Texts", "localized", "negotiate", "texts"]
