"""Customers' personal data: what each partner kind may receive (allow-lists), the consent
that must cover a partner before anything is sent to it, and the audit records that prove
what was disclosed. See docs/security.md."""

from gateway.privacy._allowlist import (
    HOLD_FIELDS,
    Disclosure,
    booking_violations,
    disclosure_for,
)
from gateway.privacy._audit import disclosure_record, refusal_record
from gateway.privacy._consent import (
    consent_message,
    consent_record,
    consent_violations,
)

__all__ = [
    "HOLD_FIELDS",
    "Disclosure",
    "booking_violations",
    "consent_message",
    "consent_record",
    "consent_violations",
    "disclosure_for",
    "disclosure_record",
    "refusal_record",
]
