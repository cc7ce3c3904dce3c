"""The customer page beside `partner-gateway demo`: Envoy (docker/envoy.yaml, on loopback) in
front of the demo's gateway, and the sandbox telecom's backend serving the page on
http://127.0.0.1:8480/ — the origin that envoy.yaml allows — minting the page's
customer-session tokens with the telecom's own secret."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from gateway.auth import bind
from gateway.edge import (
    EdgeLayout,
    EnvoyNotInstalledError,
    envoy_binary,
    load_envoy_config,
    local_envoy_config,
    running_envoy,
)
from gateway.runtime import RunningGateway
from gateway.settings import GatewaySettings
from gateway.web._backend import CustomerPage, customer_context
from gateway.web._serve import serving_customer_page
from partnergateway.v1 import entry_pb2, solution_service_pb2

__all__ = ["DEMO_PAGE_ADDRESS", "DemoPage", "demo_customer_page"]

log = logging.getLogger(__name__)

DEMO_PAGE_ADDRESS = "127.0.0.1:8480"
"""Where the page is served; docker/envoy.yaml allows its origin."""


@dataclass(frozen=True)
class DemoPage:
    page_url: str
    envoy_url: str


def _page_socket(address: str) -> socket.socket:
    """The page's usual address, or any free port when something else holds it."""
    try:
        return bind(address)
    except OSError:
        log.warning("%s is taken: serving the customer page on another port", address)
        return bind(f"{address.rpartition(':')[0]}:0")


@contextlib.asynccontextmanager
async def demo_customer_page(
    gateway: RunningGateway,
    settings: GatewaySettings,
    workdir: Path,
    compose: solution_service_pb2.ComposeSolutionRequest,
    travellers: list[entry_pb2.Traveller],
) -> AsyncIterator[DemoPage | None]:
    """Envoy and the page's backend until the block ends; None (and a warning) when Envoy is
    not installed or the gateway has no issuer to exchange tokens at."""
    partner_id = compose.entry.partner_id
    secret = next(
        (c.client_secret for c in settings.auth.issuer.clients if c.client_id == partner_id),
        None,
    )
    if gateway.issuer_url is None or secret is None:
        log.warning("no customer page: %s cannot get tokens from the gateway's issuer", partner_id)
        yield None
        return
    try:
        envoy_binary()
    except EnvoyNotInstalledError as exc:
        log.warning("no customer page: %s", exc)
        yield None
        return
    sock = _page_socket(DEMO_PAGE_ADDRESS)
    host, port = sock.getsockname()[:2]
    origins = (f"http://{host}:{port}", f"http://localhost:{port}")
    layout = EdgeLayout(replicas=(("127.0.0.1", gateway.port),), allowed_origins=origins)
    try:
        async with running_envoy(
            local_envoy_config(load_envoy_config(), layout), workdir, healthy_replicas=1
        ) as envoy:
            page = CustomerPage(
                partner_id=partner_id,
                client_secret=secret,
                token_endpoint=f"{gateway.issuer_url}/oauth/token",
                gateway_url=envoy.url,
                customer=customer_context(compose, travellers),
                audience=settings.auth.audience,
            )
            async with serving_customer_page(page, sock) as url:
                yield DemoPage(url, envoy.url)
    finally:
        sock.close()
