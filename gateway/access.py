"""What a refusal looks like: the rule every id-taking RPC applies, and the audit of refusals.

An object the caller may not see answers exactly like one that does not exist (NOT_FOUND,
same message), so ids cannot be probed; the attempt is recorded in the audit log. Whether the
caller may see an object — its partner takes part in it, its customer session composed it —
is asked of `gateway.callers` (`session_sees`, `session_sees_order`).
"""

from __future__ import annotations

from typing import NoReturn

from gateway.callers import acting_partner
from gateway.errors import NotFoundError, PermissionDeniedError
from gateway.model import AuditRecord
from gateway.storage import AuditStore

# Ids come from callers: the audit log keeps a bounded prefix of whatever was sent.
_MAX_SUBJECT = 128


class NotOwnerError(PermissionDeniedError):
    """The caller may see the object (it takes part in it) but not act on it."""

    reason = "NOT_OWNER"


async def not_found(
    store: AuditStore, action: str, what: str, subject: str, *, exists: bool
) -> NoReturn:
    """Audits the attempt (outcome "denied" when the object exists, else "not_found") and
    raises NOT_FOUND alike in both cases."""
    await store.append_audit(
        [
            AuditRecord(
                actor=acting_partner(),
                action=action,
                subject=subject[:_MAX_SUBJECT],
                outcome="denied" if exists else "not_found",
            )
        ]
    )
    raise NotFoundError(f"{what} {subject[:_MAX_SUBJECT]!r} not found")
