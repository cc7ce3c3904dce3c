"""Audit records for disclosures and refusals, built in one place so every caller records
the same things: field names and a hash of the values, never the values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gateway.audit import values_hash
from gateway.model import AuditRecord, ConsentRecord


def disclosure_record(
    *,
    actor: str,
    action: str,
    subject: str,
    recipient: str,
    consent: ConsentRecord | None,
    values: Mapping[str, Any] | Sequence[Any],
    field_names: Sequence[str],
    outcome: str,
) -> AuditRecord:
    """Personal data sent (or about to be sent) to `recipient`."""
    return AuditRecord(
        actor=actor,
        action=action,
        subject=subject,
        outcome=outcome,
        purpose=consent.purpose if consent else "",
        consent_id=consent.consent_id if consent else "",
        recipient=recipient,
        fields=tuple(field_names),
        values_hash=values_hash(values) if field_names else "",
    )


def refusal_record(*, actor: str, action: str, subject: str, outcome: str) -> AuditRecord:
    """An attempt that was refused (an object the caller may not see, a withdrawn consent)."""
    return AuditRecord(actor=actor, action=action, subject=subject, outcome=outcome)
