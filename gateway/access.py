"""Who may see what: the rule every id-taking RPC applies, and the audit of refusals.

An object the caller may not see answers exactly like one that does not exist (NOT_FOUND,
same message), so ids cannot be probed; the attempt is recorded in the audit log.
"""

from __future__ import annotations

from typing import NoReturn

from gateway.auth import current_caller
from gateway.errors import NotFoundError, PermissionDeniedError
from gateway.privacy import refusal_record
from gateway.storage import AuditStore

# Ids come from callers: the audit log keeps a bounded prefix of whatever was sent.
_MAX_SUBJECT = 128


class NotOwnerError(PermissionDeniedError):
    """The caller may see the object (it takes part in it) but not act on it."""

    reason = "NOT_OWNER"


def acting_partner() -> str:
    """The authenticated caller, or "anonymous" when the gateway does not authenticate."""
    caller = current_caller()
    return caller.partner_id if caller is not None else "anonymous"


async def not_found(
    store: AuditStore, action: str, what: str, subject: str, *, exists: bool
) -> NoReturn:
    """Audits the attempt (outcome "denied" when the object exists, else "not_found") and
    raises NOT_FOUND alike in both cases."""
    await store.append_audit(
        [
            refusal_record(
                actor=acting_partner(),
                action=action,
                subject=subject[:_MAX_SUBJECT],
                outcome="denied" if exists else "not_found",
            )
        ]
    )
    raise NotFoundError(f"{what} {subject[:_MAX_SUBJECT]!r} not found")
