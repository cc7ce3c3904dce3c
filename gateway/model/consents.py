"""Customers' consents, as the entry partners passed them on (docs/security.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ConsentRecord:
    consent_id: str
    owner: str  # the entry partner that collected it
    purpose: str  # the recipe name, for example "travel_abroad"
    partner_ids: tuple[str, ...]  # partners covered by id
    partner_kinds: tuple[str, ...]  # partner kinds covered (every partner of the kind)
    given_at: datetime
    notice_version: str
    created_at: datetime
    withdrawn_at: datetime | None = None

    def covers(self, partner_id: str, partner_kind: str) -> bool:
        """Whether data may go to this partner now: named or of a named kind, not withdrawn."""
        if self.withdrawn_at is not None:
            return False
        return partner_id in self.partner_ids or partner_kind in self.partner_kinds
