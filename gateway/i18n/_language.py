"""Which of the gateway's languages a BCP-47 tag asks for."""

from __future__ import annotations

import enum
import functools

from babel import Locale, UnknownLocaleError


class Language(enum.Enum):
    """The languages the gateway speaks; the value is the tag it answers with."""

    EN = "en"
    ZH_CN = "zh-CN"

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.value, sep="-")


@functools.lru_cache(maxsize=256)  # parsing a locale costs tens of µs; tags repeat
def negotiate(tag: str) -> Language:
    """The language for `tag`: any Chinese (`zh`, `zh-CN`, `zh-Hans-CN`, `zh-Hant-TW`) gives
    simplified Chinese, the only Chinese the catalogues have; anything else English.

    Matched on the parsed locale, not on strings: Babel's `negotiate_locale(["zh-Hans-CN"],
    ["zh-CN", "en"])` would answer `en`.
    """
    if not tag:
        return Language.EN
    try:
        parsed = Locale.parse(tag.replace("_", "-"), sep="-")
    except (ValueError, UnknownLocaleError):
        return Language.EN
    return Language.ZH_CN if parsed.language == "zh" else Language.EN
