"""`POST /oauth/token`: OAuth 2.0 client credentials (RFC 6749 §4.4).

Clients authenticate with `client_secret_basic` or `client_secret_post` (never both, as
RFC 6749 §2.3 requires). Errors use the OAuth shape `{"error": ..., "error_description": ...}`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox._state import PartnerState
from sandbox._tokens import DEFAULT_SCOPE

__all__ = ["token_endpoint"]

_SCOPES = frozenset(DEFAULT_SCOPE.split())
# No-store: a token response must never be cached (RFC 6749 §5.1).
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class _OAuthError(Exception):
    def __init__(
        self, status: int, error: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = headers or {}

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, self.status, headers={**_NO_STORE, **self.headers})


def _fault_error(status: int, retry_after: str | None) -> _OAuthError:
    error = "server_error" if status == 500 else "temporarily_unavailable"
    if status < 500 and status != 429:
        error = "invalid_client" if status == 401 else "invalid_request"
    headers = {"Retry-After": retry_after} if retry_after else {}
    return _OAuthError(status, error, f"injected fault ({status})", headers)


def _form(request: Request, raw: bytes) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise _OAuthError(400, "invalid_request", "body must be application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise _OAuthError(400, "invalid_request", "body is not UTF-8") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise _OAuthError(400, "invalid_request", f"parameter {name} is repeated")
        form[name] = value
    return form


def _client(request: Request, form: dict[str, str], realm: str) -> tuple[str, str, bool]:
    """(client_id, secret, used_basic) as presented; RFC 6749 §2.3.1 form-encodes both."""
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    in_form = "client_secret" in form
    if scheme.lower() == "basic":
        if in_form:
            raise _OAuthError(400, "invalid_request", "use one client authentication method")
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        client_id, colon, secret = decoded.partition(":")
        if not colon:
            raise _OAuthError(
                401,
                "invalid_client",
                "malformed Basic credentials",
                {"WWW-Authenticate": f'Basic realm="{realm}"'},
            )
        return unquote_plus(client_id), unquote_plus(secret), True
    if in_form:
        return form.get("client_id", ""), form["client_secret"], False
    raise _OAuthError(401, "invalid_client", "client authentication is required")


def _scope(form: dict[str, str]) -> str:
    requested = form.get("scope", "").split()
    if not requested:
        return DEFAULT_SCOPE
    if not set(requested) <= _SCOPES:
        raise _OAuthError(400, "invalid_scope", f"scopes offered: {DEFAULT_SCOPE}")
    return " ".join(scope for scope in DEFAULT_SCOPE.split() if scope in requested)


def _issue(
    state: PartnerState, form: dict[str, str], client_id: str, secret: str, used_basic: bool
) -> Response:
    if not state.tokens.client_is_valid(client_id, secret):
        headers = {"WWW-Authenticate": f'Basic realm="{state.partner_id}"'} if used_basic else {}
        raise _OAuthError(401, "invalid_client", "unknown client or wrong secret", headers)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise _OAuthError(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        raise _OAuthError(400, "unsupported_grant_type", f"{grant_type} is not supported")
    scope = _scope(form)
    ttl_s = state.knobs.token_ttl_s
    token = state.tokens.mint(client_id, ttl_s=ttl_s, scope=scope)
    body = {"access_token": token, "token_type": "Bearer", "expires_in": ttl_s, "scope": scope}
    return JSONResponse(body, 200, headers=_NO_STORE)


def token_endpoint(state: PartnerState) -> Callable[[Request], Awaitable[Response]]:
    """The token endpoint of `state`'s partner (ledger operation `token`)."""

    async def endpoint(request: Request) -> Response:
        arrived = state.clock()
        raw = await request.body()
        client_id: str | None = None
        form: dict[str, str] = {}
        try:
            if state.knobs.outage:
                raise _OAuthError(503, "temporarily_unavailable", "partner is in an outage")
            fault = state.take_fault("token")
            if fault is not None:
                raise _fault_error(fault.status, fault.headers.get("Retry-After"))
            form = _form(request, raw)
            client_id, secret, used_basic = _client(request, form, state.partner_id)
            response = _issue(state, form, client_id, secret, used_basic)
        except _OAuthError as error:
            response = error.response()
        state.ledger.record(
            at=arrived,
            operation="token",
            method=request.method,
            path=request.url.path,
            client_id=client_id or None,
            idempotency_key=None,
            status=response.status_code,
            # Never the secret: only what the client asked for.
            request={k: form[k] for k in ("grant_type", "scope") if k in form} or None,
            traceparent=request.headers.get("traceparent"),
        )
        return response

    return endpoint
