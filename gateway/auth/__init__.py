"""Authenticated callers: bearer access tokens (RFC 9068) checked on every RPC, and an embedded
token issuer for the default set-up. See docs/security.md.

The interceptor sets the caller of each RPC; handlers read it, and the partner they act for,
from `gateway.callers`.
"""

from gateway.auth._http import bind, serving
from gateway.auth._interceptor import AuthInterceptor
from gateway.auth._issuer import IssuerClient, OAuthError, TokenIssuer, load_signing_key
from gateway.auth._issuer_app import issuer_app
from gateway.auth._jwks import IssuerKeys, KeyPolicy
from gateway.auth._scopes import ALL_SCOPES, RPC_SCOPES, is_exempt, scope_for
from gateway.auth._setup import AuthRuntime, auth_runtime, missing_token_source
from gateway.auth._validator import TokenValidator, TrustedIssuer

__all__ = [
    "ALL_SCOPES",
    "RPC_SCOPES",
    "AuthInterceptor",
    "AuthRuntime",
    "IssuerClient",
    "IssuerKeys",
    "KeyPolicy",
    "OAuthError",
    "TokenIssuer",
    "TokenValidator",
    "TrustedIssuer",
    "auth_runtime",
    "bind",
    "is_exempt",
    "issuer_app",
    "load_signing_key",
    "missing_token_source",
    "scope_for",
    "serving",
]
