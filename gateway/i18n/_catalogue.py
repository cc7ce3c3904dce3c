"""Text for people, from gettext message catalogues (`locales/<locale>/LC_MESSAGES/*.po`).

Message ids are stable codes (`reason.cheapest`), never English sentences, so the English text
can change without touching code, and logic never holds a sentence for customers. Messages use
`str.format` fields (`{count}`); a missing translation falls back to English, then to a
caller's default, then to the code itself, so text never breaks a composition.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from babel.messages.pofile import read_po
from babel.numbers import format_currency

from gateway.i18n._language import Language

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "gateway"
_CATALOGUE_LOCALE = {Language.EN: "en", Language.ZH_CN: "zh_CN"}


@functools.cache
def _messages(language: Language) -> Mapping[str, str]:
    path = LOCALES_DIR / _CATALOGUE_LOCALE[language] / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po)
    return {
        str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str) and m.string
    }


class Texts:
    """The catalogue of one language."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._own = _messages(language)
        self._english = _messages(Language.EN)

    def has(self, code: str) -> bool:
        return code in self._own or code in self._english

    def text(self, code: str, default: str | None = None, **fields: object) -> str:
        return self.render(code, fields, default)

    def render(self, code: str, fields: Mapping[str, object], default: str | None = None) -> str:
        """The message `code` with `fields` filled in."""
        template = self._own.get(code) or self._english.get(code) or default or code
        try:
            return template.format(**fields)
        except (KeyError, IndexError, ValueError):
            log.warning("message %s does not fit its fields %s", code, sorted(fields))
            return template

    def money(self, amount: Decimal, currency_code: str) -> str:
        """`amount` formatted for the locale (CNY is `¥` in zh-CN and `CN¥` in en)."""
        return _money(amount, currency_code, self.language)

    def list(self, items: list[str]) -> str:
        """Items joined as the language joins a list."""
        return self.text("list.separator", default=", ").join(items)


@functools.lru_cache(maxsize=8192)
def _money(amount: Decimal, currency_code: str, language: Language) -> str:
    # Babel formats in tens of microseconds; a plan formats every offer's price, and the same
    # prices come back again and again (catalogues are finite), so remember them.
    return str(format_currency(amount, currency_code, locale=language.locale))


@functools.cache
def texts(language: Language) -> Texts:
    return Texts(language)
