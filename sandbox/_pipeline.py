"""How every protocol call runs: faults first, then auth, idempotency, work — and the ledger.

Order, and why: an outage answers at once (nothing behind the load balancer); latency is
then spent as the backend would; queued and random faults come next, before any work is
done, so an injected failure never half-books anything; only then the token is checked,
an idempotent replay answered, and the work done. Every call ends up in the ledger with the
status it got, whatever stopped it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox._catalogue import canonical_json
from sandbox._errors import MalformedAnswer, PartnerError
from sandbox._faults import outage_error
from sandbox._idempotency import check_key
from sandbox._state import PartnerState

__all__ = ["Call", "Work", "json_object", "operation_endpoint"]

_log = logging.getLogger("sandbox")


@dataclass
class Call:
    """One call as the work sees it: the request and its parsed JSON body (None if not JSON)."""

    request: Request
    body: Any
    client_id: str | None = None


#: The work of an operation: (status, JSON body), or a `PartnerError`.
Work = Callable[[Call], tuple[int, dict[str, Any]]]


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body, or None when it is empty or not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def json_object(call: Call, *, empty_ok: bool = False) -> Mapping[str, Any]:
    """The body as a JSON object, or `400 invalid_request`."""
    if call.body is None and empty_ok:
        return {}
    if not isinstance(call.body, dict):
        raise PartnerError(400, "invalid_request", "body must be a JSON object")
    return call.body


def error_response(error: PartnerError) -> Response:
    return JSONResponse(error.body(), error.status, headers=error.headers)


async def _answer(
    state: PartnerState,
    operation: str,
    call: Call,
    work: Work,
    *,
    mutation: bool,
    authenticated: bool,
) -> Response:
    if state.knobs.outage:
        raise outage_error()
    delay = state.faults.latency_s(state.knobs, operation)
    if delay > 0:
        await asyncio.sleep(delay)
    fault = state.take_fault(operation)
    if fault is not None:
        raise fault
    if authenticated:
        claims = state.tokens.verify(call.request.headers.get("authorization"))
        call.client_id = str(claims["client_id"])
    if not mutation:
        status, body = work(call)
        return JSONResponse(body, status)
    assert call.client_id is not None
    key = check_key(call.request.headers.get("idempotency-key"))
    payload = json_object(call, empty_ok=True)
    fingerprint = f"{call.request.method} {call.request.url.path}\n{canonical_json(payload)}"
    stored = state.idempotency.lookup(call.client_id, key, fingerprint)
    if stored is not None:
        return JSONResponse(stored.body, stored.status)
    try:
        status, body = work(call)
    except PartnerError as error:
        # The operation's own refusal (unknown hold, expired offer) is its answer too.
        state.idempotency.store(call.client_id, key, fingerprint, error.status, error.body())
        raise
    state.idempotency.store(call.client_id, key, fingerprint, status, body)
    return JSONResponse(body, status)


def operation_endpoint(
    state: PartnerState,
    operation: str,
    work: Work,
    *,
    mutation: bool = False,
    authenticated: bool = True,
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint running `work` as protocol `operation`.

    `mutation` adds the Idempotency-Key rules; `authenticated` requires a Bearer token.
    """

    async def endpoint(request: Request) -> Response:
        arrived = state.clock()
        call = Call(request, parse_json(await request.body()))
        try:
            response = await _answer(
                state, operation, call, work, mutation=mutation, authenticated=authenticated
            )
        except MalformedAnswer:
            response = Response(MalformedAnswer.BODY, 200, media_type="application/json")
        except PartnerError as error:
            response = error_response(error)
        except Exception:
            _log.exception("%s %s failed", state.partner_id, operation)
            response = error_response(PartnerError(500, "internal", "internal error"))
        state.ledger.record(
            at=arrived,
            operation=operation,
            method=request.method,
            path=request.url.path,
            client_id=call.client_id,
            idempotency_key=request.headers.get("idempotency-key"),
            status=response.status_code,
            request=call.body,
            traceparent=request.headers.get("traceparent"),
        )
        return response

    return endpoint
