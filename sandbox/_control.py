"""Sandbox control: `/_sandbox/ledger`, `/_sandbox/knobs` and `/_sandbox/sales` (no auth;
never recorded).

These exist only on sandbox partners, which bind to loopback by default; the sandbox does
not check the caller's address itself.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox._errors import PartnerError
from sandbox._pipeline import error_response, parse_json
from sandbox._sales import sell
from sandbox._state import PartnerState

__all__ = ["control_routes"]


def control_routes(state: PartnerState) -> list[Route]:
    """The control routes of one partner."""

    async def get_ledger(request: Request) -> Response:
        entries = [entry.to_json() for entry in state.ledger.entries]
        return JSONResponse({"partner_id": state.partner_id, "entries": entries})

    async def clear_ledger(request: Request) -> Response:
        state.ledger.clear()
        return Response(status_code=204)

    async def get_knobs(request: Request) -> Response:
        return JSONResponse(state.knobs.to_json())

    async def patch_knobs(request: Request) -> Response:
        patch = parse_json(await request.body())
        if not isinstance(patch, dict):
            return error_response(
                PartnerError(400, "invalid_request", "body must be a JSON object")
            )
        try:
            knobs = state.patch_knobs(patch)
        except PartnerError as error:
            return error_response(error)
        return JSONResponse(knobs.to_json())

    async def post_sale(request: Request) -> Response:
        try:
            sale = sell(state, parse_json(await request.body()))
        except PartnerError as error:
            return error_response(error)
        return JSONResponse(sale, 201)

    return [
        Route("/_sandbox/ledger", get_ledger, methods=["GET"]),
        Route("/_sandbox/ledger", clear_ledger, methods=["DELETE"]),
        Route("/_sandbox/knobs", get_knobs, methods=["GET"]),
        Route("/_sandbox/knobs", patch_knobs, methods=["PATCH"]),
        Route("/_sandbox/sales", post_sale, methods=["POST"]),
    ]
