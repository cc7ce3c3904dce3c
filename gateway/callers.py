"""Who is calling: the one place that names the partner on whose behalf an RPC runs.

With `auth.required`, the caller is the authenticated partner (`gateway.auth`), so a partner
cannot spend another's rate limit by naming it. Without authentication, the caller is the
partner the request names (`entry.partner_id` for compositions, `partner_id` elsewhere).
Per-caller policies (rate limits) ask `caller_of` only. A customer-session token's caller is
its partner (`client_id`; `act` names it too): a telecom's customers in browsers spend that
telecom's rate limit, as its own systems do.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import message

from gateway.auth import current_caller

__all__ = ["caller_of"]


def caller_of(request: Any, context: Any) -> str | None:
    """The partner id a call is made for, or None when the request names none. With
    `auth.required`, the authenticated caller, whatever the request names."""
    del context
    authenticated = current_caller()
    if authenticated is not None:
        return authenticated.partner_id
    if not isinstance(request, message.Message):
        return None
    fields = request.DESCRIPTOR.fields_by_name
    named: Any = request  # any of the gateway's request messages
    if "entry" in fields:
        partner_id = str(named.entry.partner_id)
    elif "partner_id" in fields:
        partner_id = str(named.partner_id)
    else:
        return None
    return partner_id or None
