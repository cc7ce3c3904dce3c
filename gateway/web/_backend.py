"""The partner's backend behind the customer page — the sandbox telecom's, in the demo and the
tests: it serves the page and, per visitor, mints a customer-session token by RFC 8693 token
exchange at the gateway's issuer. The partner's client secret stays here; the page only ever
holds the session token (docs/front-ends.md).

GET  /                 the page (static HTML, CSS, JS from `gateway/web/static/`)
GET  /static/...       its files
POST /api/session      {"access_token", "expires_in", "gateway_url", "customer"}: a new
                       customer session, and what the telecom knows of its customer's trip
GET  /healthz          "ok"

A real partner would check its own customer's login before minting; the sandbox's customer is
the demo family, whom the backend was configured with.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import httpx2
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from partnergateway.v1 import entry_pb2, solution_service_pb2

__all__ = ["STATIC_DIR", "CustomerPage", "customer_context", "customer_page_app"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
# A partner token is renewed this long before it expires.
_RENEW_BEFORE_S = 30
_NO_STORE = {"Cache-Control": "no-store"}


def customer_context(
    compose: solution_service_pb2.ComposeSolutionRequest,
    travellers: list[entry_pb2.Traveller],
) -> dict[str, Any]:
    """What the partner tells its page about the customer in front of it, as proto3 JSON:
    the composition to ask for (the roaming activation, the travellers' profiles, the consent
    they gave, the products they hold; no request id, no language — the page adds those) and
    the travellers' details that booking needs."""
    request = solution_service_pb2.ComposeSolutionRequest()
    request.CopyFrom(compose)
    request.ClearField("request_id")
    request.ClearField("language_code")
    return {
        "compose": json_format.MessageToDict(request),
        "travellers": [json_format.MessageToDict(t) for t in travellers],
    }


@dataclass
class CustomerPage:
    """One partner's page: who the partner is, where its issuer and the gateway are."""

    partner_id: str
    client_secret: str
    token_endpoint: str
    gateway_url: str
    """Envoy, as the browser reaches it (gRPC-Web and JSON)."""
    customer: dict[str, Any]
    audience: str = "urn:partner-gateway"
    _token: str = field(default="", repr=False)
    _expires_at: float = 0.0

    @property
    def _basic(self) -> tuple[str, str]:
        # RFC 6749 §2.3.1: both form-encoded before they are joined.
        return quote_plus(self.partner_id), quote_plus(self.client_secret)

    async def _partner_token(self, http: httpx2.AsyncClient) -> str:
        if self._token and time.monotonic() < self._expires_at - _RENEW_BEFORE_S:
            return self._token
        response = await http.post(
            self.token_endpoint,
            data={"grant_type": "client_credentials", "resource": self.audience},
            auth=self._basic,
        )
        response.raise_for_status()
        body = response.json()
        self._token = body["access_token"]
        self._expires_at = time.monotonic() + float(body.get("expires_in", 60))
        return self._token

    async def session(self, http: httpx2.AsyncClient) -> dict[str, Any]:
        """A new customer session: its token, from the partner's own by token exchange."""
        response = await http.post(
            self.token_endpoint,
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": await self._partner_token(http),
                "subject_token_type": ACCESS_TOKEN,
                "audience": self.audience,
            },
            auth=self._basic,
        )
        response.raise_for_status()
        body = response.json()
        return {
            "access_token": body["access_token"],
            "expires_in": body["expires_in"],
            "scope": body.get("scope", ""),
            "gateway_url": self.gateway_url,
            "customer": self.customer,
        }


def _security_headers(page: CustomerPage) -> dict[str, str]:
    # The page runs its own script and style only, and talks to its backend and the gateway.
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {page.gateway_url}; base-uri 'none'; form-action 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


def customer_page_app(page: CustomerPage, http: httpx2.AsyncClient) -> Starlette:
    """The backend's HTTP app; `http` reaches the issuer (closed by the caller)."""
    headers = _security_headers(page)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={**headers, **_NO_STORE})

    async def session(request: Request) -> Response:
        try:
            body = await page.session(http)
        except (httpx2.HTTPError, KeyError, ValueError) as exc:
            log.warning("no customer-session token for %s: %s", page.partner_id, exc)
            return JSONResponse({"error": "no session token"}, 502, headers=_NO_STORE)
        return JSONResponse(body, headers=_NO_STORE)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/api/session", session, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ]
    )
