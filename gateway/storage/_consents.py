"""Customers' consents, as the entry partners passed them on (docs/security.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gateway.model import AuditRecord, ConsentRecord


class ConsentStore(Protocol):
    async def save_consent(self, consent: ConsentRecord, audit: Sequence[AuditRecord] = ()) -> None:
        """Stores a new consent and appends `audit` to the audit log, in one transaction. A
        consent is never overwritten: a repeated id is refused (`ValueError`)."""
        ...

    async def get_consent(self, consent_id: str) -> ConsentRecord | None: ...

    async def withdraw_consent(
        self, consent_id: str, at: datetime, audit: Sequence[AuditRecord] = ()
    ) -> ConsentRecord | None:
        """Marks it withdrawn at `at` (a second withdrawal keeps the first time) and returns
        it; None when there is no such consent. `audit` is appended in the same transaction,
        and only when the consent exists."""
        ...
