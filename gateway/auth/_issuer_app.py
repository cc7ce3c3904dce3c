"""The embedded token issuer over HTTP (Starlette): token endpoint, JWKS and metadata.

POST /oauth/token                                client credentials, and token exchange
                                                 (RFC 8693) for customer-session tokens
GET  /jwks.json                                  the public signing key
GET  /.well-known/openid-configuration           metadata (also as RFC 8414's
GET  /.well-known/oauth-authorization-server     oauth-authorization-server)
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.auth._exchange import exchange
from gateway.auth._issuer import (
    CLIENT_ASSERTION_TYPE,
    TOKEN_EXCHANGE_GRANT,
    IssuerClient,
    OAuthError,
    TokenIssuer,
)

__all__ = ["issuer_app"]

# A token request is a few hundred bytes (a client assertion a few kilobytes).
_MAX_BODY_BYTES = 64 * 1024
# A token response must never be cached (RFC 6749 §5.1).
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# RFC 8707 lets `resource` repeat, RFC 8693 `audience`; no other parameter may.
_REPEATABLE = frozenset({"resource", "audience"})


def _error_response(error: OAuthError) -> Response:
    body = {"error": error.error, "error_description": error.description}
    return JSONResponse(body, error.status, headers={**_NO_STORE, **error.headers})


def _form(request: Request, raw: bytes) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError(400, "invalid_request", "the body must be form-encoded")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise OAuthError(400, "invalid_request", "the body is not UTF-8") from None
    names = [name for name, _ in pairs if name not in _REPEATABLE]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise OAuthError(400, "invalid_request", f"repeated parameters: {', '.join(repeated)}")
    return pairs


def _basic_credentials(authorization: str) -> tuple[str, str]:
    _, _, credentials = authorization.partition(" ")
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError(
            401,
            "invalid_client",
            "malformed Basic credentials",
            {"WWW-Authenticate": 'Basic realm="partner-gateway"'},
        )
    # RFC 6749 §2.3.1: both are form-encoded before they are joined.
    return unquote_plus(client_id), unquote_plus(secret)


def _client(issuer: TokenIssuer, request: Request, form: dict[str, str]) -> IssuerClient:
    """The client, authenticated by exactly one method (RFC 6749 §2.3)."""
    authorization = request.headers.get("authorization", "")
    basic = authorization.partition(" ")[0].lower() == "basic"
    assertion = "client_assertion" in form or "client_assertion_type" in form
    if "client_secret" in form:
        raise OAuthError(
            401, "invalid_client", "client_secret_post is not supported: use client_secret_basic"
        )
    if basic and assertion:
        raise OAuthError(400, "invalid_request", "use one client authentication method")
    if basic:
        return issuer.client_by_secret(*_basic_credentials(authorization))
    if assertion:
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise OAuthError(
                400, "invalid_request", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}"
            )
        return issuer.client_by_assertion(form.get("client_assertion", ""), form.get("client_id"))
    raise OAuthError(401, "invalid_client", "client authentication is required")


def issuer_app(issuer: TokenIssuer) -> Starlette:
    async def token(request: Request) -> Response:
        try:
            pairs = _form(request, await request.body())
            form = dict(pairs)
            client = _client(issuer, request, form)
            grant_type = form.get("grant_type")
            if not grant_type:
                raise OAuthError(400, "invalid_request", "grant_type is required")
            resources = [value for name, value in pairs if name == "resource"]
            if grant_type == "client_credentials":
                body = issuer.issue(client, form.get("scope"), resources)
            elif grant_type == TOKEN_EXCHANGE_GRANT:
                audiences = [value for name, value in pairs if name == "audience"]
                body = exchange(issuer, client, form, resources, audiences)
            else:
                raise OAuthError(400, "unsupported_grant_type", f"{grant_type} is not supported")
        except OAuthError as error:
            return _error_response(error)
        return JSONResponse(body, headers=_NO_STORE)

    async def jwks(request: Request) -> Response:
        return JSONResponse(issuer.jwks(), headers={"Cache-Control": "max-age=300"})

    async def metadata(request: Request) -> Response:
        return JSONResponse(issuer.metadata())

    return Starlette(
        routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/jwks.json", jwks, methods=["GET"]),
            Route("/.well-known/openid-configuration", metadata, methods=["GET"]),
            Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
        ],
        max_body_size=_MAX_BODY_BYTES,
    )
