"""The customer's language: negotiation from BCP-47, catalogues, money per locale."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from gateway.errors import FieldViolation, InvalidRequestError
from gateway.i18n import LOCALES_DIR, Language, localized, negotiate, texts


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("zh-Hans-CN", Language.ZH_CN),  # Babel's negotiate_locale would say en
        ("zh-CN", Language.ZH_CN),
        ("zh", Language.ZH_CN),
        ("zh_CN", Language.ZH_CN),
        ("en", Language.EN),
        ("en-GB", Language.EN),
        ("fr-FR", Language.EN),
        ("", Language.EN),
        ("x-klingon", Language.EN),
    ],
)
def test_tags_map_to_the_gateways_languages(tag: str, language: Language) -> None:
    assert negotiate(tag) is language


def test_money_follows_the_locale() -> None:
    zh, en = texts(Language.ZH_CN), texts(Language.EN)
    assert zh.money(Decimal("1234.5"), "CNY") == "¥1,234.50"
    assert en.money(Decimal("1234.5"), "CNY") == "CN¥1,234.50"
    assert zh.money(Decimal("40755"), "JPY") == "JP¥40,755"
    assert en.money(Decimal("40755"), "JPY") == "¥40,755"


def _ids(path: Path) -> set[str]:
    with path.open("rb") as po:
        return {str(m.id) for m in read_po(po) if m.id and m.string}


def test_every_language_has_every_message() -> None:
    catalogues = {p.parent.parent.name: _ids(p) for p in LOCALES_DIR.glob("*/LC_MESSAGES/*.po")}
    assert set(catalogues) == {"en", "zh_CN"}
    assert catalogues["en"] == catalogues["zh_CN"]


def test_missing_text_falls_back_and_fields_fill_in() -> None:
    zh = texts(Language.ZH_CN)
    assert zh.text("reason.cheapest", count=4) == "4 个报价中最便宜的"
    assert zh.text("recipe.other.hotel", default="Hotel") == "Hotel"
    assert zh.text("no.such.code") == "no.such.code"


def test_an_invalid_request_is_told_in_chinese() -> None:
    error = InvalidRequestError(
        [FieldViolation("entry.roaming.end_date", "x"), FieldViolation("travellers", "y")]
    )
    told = localized(error, texts(Language.ZH_CN))
    assert told is not None
    assert told.locale == "zh-CN"
    assert told.message == "请更正 2 个字段：entry.roaming.end_date、travellers"
