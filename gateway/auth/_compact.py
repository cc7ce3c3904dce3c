"""Reading a JWS in compact form before its signature is checked — only to decide which
issuer, client and key to verify it with; nothing read here is trusted."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

__all__ = ["unverified_parts"]


def _segment(value: str) -> dict[str, Any] | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError):
        return None
    return decoded if isinstance(decoded, dict) else None


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(header, claims) of a signed JWT, unverified; None if `token` is not one (an encrypted
    JWT has five parts, and nobody issues those to the gateway)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, claims = _segment(parts[0]), _segment(parts[1])
    if header is None or claims is None:
        return None
    return header, claims
