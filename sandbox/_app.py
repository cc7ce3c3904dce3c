"""The ASGI app of one sandbox partner: the reference partner protocol over Starlette."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox._control import control_routes
from sandbox._errors import PartnerError, code_for_status
from sandbox._oauth import token_endpoint
from sandbox._pipeline import Call, error_response, json_object, operation_endpoint
from sandbox._state import PartnerState

__all__ = ["create_partner_app"]

# Quote and booking bodies are small; anything bigger is a client bug, refused early.
_MAX_BODY_BYTES = 1 << 20


async def _http_error(request: Request, exc: Exception) -> Response:
    # Unknown paths and wrong methods answer in the protocol's error shape, not Starlette's text.
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = exc.detail if isinstance(exc, HTTPException) else "internal error"
    return error_response(PartnerError(status, code_for_status(status), message))


def create_partner_app(state: PartnerState) -> Starlette:
    """The partner's routes, all bound to `state`."""

    def health(call: Call) -> tuple[int, dict[str, Any]]:
        return 200, {"status": "ok", "partner_id": state.partner_id}

    def quote(call: Call) -> tuple[int, dict[str, Any]]:
        return 200, {"offers": state.quote(json_object(call))}

    def retrieve(call: Call) -> tuple[int, dict[str, Any]]:
        booking = state.bookings.find_booking(call.request.path_params["reference"])
        return 200, state.bookings.booking_json(booking)

    def hold(call: Call) -> tuple[int, dict[str, Any]]:
        return 201, state.bookings.hold(json_object(call), state.knobs.offer_ttl_s)

    def confirm(call: Call) -> tuple[int, dict[str, Any]]:
        return 200, state.bookings.confirm(call.request.path_params["hold_id"])

    def cancel(call: Call) -> tuple[int, dict[str, Any]]:
        return 200, state.bookings.cancel(call.request.path_params["hold_id"])

    async def jwks(request: Request) -> Response:
        return JSONResponse(state.tokens.jwks())

    routes = [
        Route("/oauth/token", token_endpoint(state), methods=["POST"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route(
            "/v1/health",
            operation_endpoint(state, "health", health, authenticated=False),
            methods=["GET"],
        ),
        Route("/v1/quotes", operation_endpoint(state, "quote", quote), methods=["POST"]),
        Route(
            "/v1/bookings/{reference}",
            operation_endpoint(state, "retrieve", retrieve),
            methods=["GET"],
        ),
        Route(
            "/v1/holds", operation_endpoint(state, "hold", hold, mutation=True), methods=["POST"]
        ),
        Route(
            "/v1/holds/{hold_id}/confirm",
            operation_endpoint(state, "confirm", confirm, mutation=True),
            methods=["POST"],
        ),
        Route(
            "/v1/holds/{hold_id}/cancel",
            operation_endpoint(state, "cancel", cancel, mutation=True),
            methods=["POST"],
        ),
        *control_routes(state),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error},
        max_body_size=_MAX_BODY_BYTES,
    )
