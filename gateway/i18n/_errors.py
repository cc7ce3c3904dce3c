"""Errors told in the caller's language (AIP-193 `LocalizedMessage` beside `ErrorInfo`)."""

from __future__ import annotations

from gateway.errors import GatewayError, InvalidRequestError, LocalizedText
from gateway.i18n._catalogue import Texts


def localized(error: GatewayError, texts: Texts) -> LocalizedText | None:
    """The error's message from the catalogue (`error.<reason>`), or None when it has none:
    the English `Status.message` then stands alone."""
    code = f"error.{error.reason.lower()}"
    if not texts.has(code):
        return None
    fields: dict[str, object] = dict(error.metadata)
    if isinstance(error, InvalidRequestError):
        names = [v.field for v in error.violations]
        fields.update(count=len(names), fields=texts.list(names))
    return LocalizedText(texts.language.value, texts.render(code, fields))
