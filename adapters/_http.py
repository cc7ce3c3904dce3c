"""One authenticated HTTP/JSON client per partner: OAuth2 tokens, retries, error translation.

Authlib's `AsyncOAuth2Client` (on the httpx2 API with the aiohttp transport) owns the token.
It is given `token_endpoint` and `grant_type` so it re-fetches an expiring token by itself
(under its own lock). The first fetch and the fetch after a 401 are single-flight here: under
200 concurrent calls the partner sees one token request, not 200.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx2
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from httpx_aiohttp.httpx2 import AiohttpTransport
from opentelemetry import propagate, trace

from adapters._errors import (
    AdapterError,
    PartnerAuthError,
    PartnerProtocolError,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerTimeout,
    PartnerUnavailable,
)
from adapters._model import PartnerConfig
from adapters._retry import RetryBudget, build_retrying

_TRANSIENT_STATUSES = frozenset({502, 503, 504})
# Resolved request URLs kept per partner: the fixed paths (quotes, holds) and then some.
_MAX_CACHED_URLS = 64


class _OAuth2Client(AsyncOAuth2Client):  # type: ignore[misc]
    """Authlib's client, looking at the token's expiry before taking its refresh lock.

    Every partner call passes through `ensure_active_token`, and while the token is fresh
    the (anyio) lock costs more than the rest of putting the header on. An expiring token
    still takes the lock, and is renewed there once for all the calls waiting on it."""

    async def ensure_active_token(self, token: Any) -> Any:
        current = self.token
        if current and not current.is_expired(leeway=self.leeway):
            return None
        return await super().ensure_active_token(token)


class PartnerHttpClient:
    """Sends JSON requests to one partner within a deadline; raises only `AdapterError`s."""

    def __init__(
        self, config: PartnerConfig, transport: httpx2.AsyncBaseTransport | None = None
    ) -> None:
        self._config = config
        limits = httpx2.Limits(
            max_connections=config.max_connections, max_keepalive_connections=config.max_connections
        )
        self._oauth = _OAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret,
            token_endpoint_auth_method="client_secret_basic",
            scope=config.scope,
            token_endpoint=config.token_url,
            grant_type="client_credentials",
            base_url=config.base_url,
            transport=transport or AiohttpTransport(limits=limits, trust_env=False),
            timeout=httpx2.Timeout(None, connect=config.connect_timeout_s),
            trust_env=False,
        )
        self._oauth.register_compliance_hook("access_token_response", self._on_token_response)
        self._token_lock = asyncio.Lock()
        self._urls: dict[str, httpx2.URL] = {}
        self._retry_budget = RetryBudget(config.retry.budget_ratio, config.retry.budget_min_per_s)
        self.token_fetches = 0
        self.retries = 0

    @property
    def partner_id(self) -> str:
        return self._config.partner_id

    async def aclose(self) -> None:
        await self._oauth.aclose()

    async def post_json(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        deadline: float,
        idempotency_key: str | None = None,
    ) -> Any:
        """POST `body` to `path`, retrying transient failures until `deadline` (monotonic)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return await self._call("POST", path, body, headers, deadline)

    async def get_json(self, path: str, *, deadline: float) -> Any:
        """GET `path`, retrying transient failures until `deadline` (a GET is idempotent)."""
        return await self._call("GET", path, None, {}, deadline)

    async def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        deadline: float,
    ) -> Any:
        # Most calls succeed at once, so the first attempt runs without tenacity's machinery
        # (a retrying object, its state and callbacks per call); it is built only when a
        # retryable failure asks for more, and judges that failure as its attempt 1.
        self._retry_budget.deposit()
        # The caller's span (one per partner call) learns how many attempts it took.
        span = trace.get_current_span()
        span.set_attribute("partner.attempts", 1)
        try:
            return await self._attempt(method, path, body, headers, deadline)
        except AdapterError as exc:
            if not exc.retryable:
                raise
            first_failure = exc
        retrying = build_retrying(self._config.retry, deadline, self._retry_budget)
        async for attempt in retrying:
            number = attempt.retry_state.attempt_number
            with attempt:
                if number == 1:
                    raise first_failure
                self.retries += 1
                span.set_attribute("partner.attempts", number)
                return await self._attempt(method, path, body, headers, deadline)
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    async def _attempt(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        deadline: float,
    ) -> Any:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise PartnerTimeout(self.partner_id, "no time left before the deadline")
        try:
            async with asyncio.timeout(remaining):
                return await self._send_once(method, path, body, headers)
        except TimeoutError as exc:
            raise PartnerTimeout(self.partner_id, "no answer before the deadline") from exc

    async def _send_once(
        self, method: str, path: str, body: Mapping[str, Any] | None, headers: Mapping[str, str]
    ) -> Any:
        await self._ensure_token()
        used_token = self._access_token()
        response = await self._request(method, path, body, headers)
        if response.status_code == 401:
            # The partner no longer accepts our token (rotated keys, clock skew): one fresh
            # token and one more try, never a loop.
            await self._refetch_token(stale=used_token)
            response = await self._request(method, path, body, headers)
        return self._decode(response)

    async def _request(
        self, method: str, path: str, body: Mapping[str, Any] | None, headers: Mapping[str, str]
    ) -> httpx2.Response:
        sent = dict(headers)
        # The caller's trace goes to the partner (W3C `traceparent`) whether or not the
        # HTTP client is instrumented; when it is, its own span's context replaces this.
        propagate.inject(sent)
        try:
            response: httpx2.Response = await self._oauth.request(
                method,
                self._url(path),
                json=None if body is None else dict(body),
                headers=sent,
            )
            return response
        except AdapterError:
            raise
        except (httpx2.TransportError, aiohttp.ClientError, OSError) as exc:
            raise self._transport_error(exc, "call") from exc
        except OAuthError as exc:
            raise PartnerAuthError(self.partner_id, f"token refused: {exc.error}") from exc
        except httpx2.HTTPError as exc:
            raise PartnerUnavailable(self.partner_id, f"HTTP failure: {exc}") from exc

    def _url(self, path: str) -> httpx2.URL:
        """`path` on the partner's base URL, resolved once: httpx2 parses a relative path
        (regular expressions, an IP address check) on every request otherwise, and the same
        few paths are asked thousands of times. Resolved exactly as the client would."""
        url = self._urls.get(path)
        if url is None:
            url = self._oauth._merge_url(path)
            if len(self._urls) < _MAX_CACHED_URLS:
                self._urls[path] = url
        return url

    def _transport_error(self, exc: BaseException, what: str) -> AdapterError:
        """A timeout only when something really timed out: httpx-aiohttp reports a refused
        connection as `ConnectTimeout`, so the aiohttp cause decides."""
        cause = exc.__cause__ or exc
        if isinstance(cause, TimeoutError) or (
            isinstance(exc, httpx2.TimeoutException) and not isinstance(cause, aiohttp.ClientError)
        ):
            return PartnerTimeout(self.partner_id, f"{what} timed out")
        return PartnerUnavailable(self.partner_id, f"{what} unreachable: {cause}")

    # -- tokens ---------------------------------------------------------------------------

    def _access_token(self) -> str | None:
        token = self._oauth.token
        return str(token["access_token"]) if token else None

    async def _ensure_token(self) -> None:
        if self._oauth.token:
            return
        async with self._token_lock:
            if not self._oauth.token:
                await self._fetch_token()

    async def _refetch_token(self, stale: str | None) -> None:
        async with self._token_lock:
            if self._access_token() != stale:
                return  # another call already replaced the stale token
            await self._fetch_token()

    async def _fetch_token(self) -> None:
        try:
            await self._oauth.fetch_token()
        except AdapterError:
            raise
        except (httpx2.TransportError, aiohttp.ClientError, OSError) as exc:
            raise self._transport_error(exc, "token endpoint") from exc
        except OAuthError as exc:
            raise PartnerAuthError(self.partner_id, f"token refused: {exc.error}") from exc
        except (ValueError, KeyError) as exc:
            raise PartnerProtocolError(self.partner_id, "malformed token response") from exc

    def _on_token_response(self, response: httpx2.Response) -> httpx2.Response:
        """Counts every token fetch (first, refresh, after 401) and maps endpoint failures."""
        self.token_fetches += 1
        status = response.status_code
        if status == 429 or status in _TRANSIENT_STATUSES:
            raise PartnerUnavailable(
                self.partner_id,
                f"token endpoint answered {status}",
                retry_after_s=_retry_after(response),
            )
        if status >= 500:
            raise PartnerServerError(self.partner_id, f"token endpoint answered {status}")
        return response

    # -- answers --------------------------------------------------------------------------

    def _decode(self, response: httpx2.Response) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            try:
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise PartnerProtocolError(self.partner_id, "answer is not JSON") from exc
        error = _error_body(response)
        message = f"HTTP {status} {error.get('code', '')}: {error.get('message', '')}".strip()
        if status == 429:
            raise PartnerRateLimited(self.partner_id, message, retry_after_s=_retry_after(response))
        if status in _TRANSIENT_STATUSES:
            raise PartnerUnavailable(self.partner_id, message, retry_after_s=_retry_after(response))
        if status == 401 or status == 403:
            raise PartnerAuthError(self.partner_id, message)
        if 400 <= status < 500:
            raise PartnerRejected(
                self.partner_id,
                message,
                status=status,
                code=str(error.get("code", "rejected")),
                field=error.get("field"),
            )
        raise PartnerServerError(self.partner_id, message)


def _error_body(response: httpx2.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else {}


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date; our partners send seconds, and backoff still applies
