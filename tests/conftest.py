"""Session-wide sandbox partners and gateway on loopback (port 0), reset between tests; and
the local PostgreSQL for the tests that need it.

The gateway requires tokens, as by default: its embedded issuer (on a free port) has every
partner as a client (`tests.support.issuer_clients`), and the `channel` fixture's calls carry
the token of the partner they act as, through the client package's interceptors
(`gateway.client.credentials`): the partner the request names, else
`tests.support.DEFAULT_PARTNER`. To act as another partner, a test says so:
`client.for_partner(...)`.

PostgreSQL comes from `PSG_TEST_POSTGRES_DSN`. Without a reachable server the PostgreSQL
cases are skipped on a workstation but fail in CI (`CI` set), so CI never passes by
silently testing one backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import psycopg
import pytest
from joserfc.jwk import ECKey
from psycopg import sql

from gateway.cli.sandbox_link import link_to_sandbox
from gateway.client import GatewayClient, PartnerTokens, open_channel
from gateway.resilience import GuardedAdapter
from gateway.runtime import RunningGateway, running_gateway
from gateway.settings import (
    AuthSettings,
    BookingSettings,
    GatewaySettings,
    RetrySettings,
    TokenIssuerSettings,
)
from partnergateway.v1 import solution_service_pb2_grpc
from sandbox import DEFAULT_PARTNERS, SandboxCluster, start_sandbox
from tests.support import SandboxControl, Stub, issuer_clients, partner_tokens

# Fast sandbox partners for the suite; the demo keeps the realistic default latencies.
TEST_LATENCY_MS = 5


@pytest.fixture(scope="session")
async def sandbox() -> AsyncIterator[SandboxCluster]:
    async with await start_sandbox(DEFAULT_PARTNERS) as cluster:
        yield cluster


@pytest.fixture(scope="session")
async def control(sandbox: SandboxCluster) -> AsyncIterator[SandboxControl]:
    control = SandboxControl({pid: p.base_url for pid, p in sandbox.partners.items()})
    yield control
    await control.aclose()


@pytest.fixture(scope="session")
def client_key() -> ECKey:
    """The private key `tests.support.KEY_CLIENT` signs its client assertions with."""
    return ECKey.generate_key("P-256", private=True, auto_kid=True)


@pytest.fixture(scope="session")
def gateway_settings(
    sandbox: SandboxCluster, client_key: ECKey, tmp_path_factory: pytest.TempPathFactory
) -> GatewaySettings:
    base = GatewaySettings(
        state_dir=Path(tmp_path_factory.mktemp("state")),
        # Short backoff keeps retry tests quick; the policy is the same.
        # Booking steps time out fast so the "answer after the timeout" cases stay quick.
        booking=BookingSettings(step_timeout_s=1.0, lease_ttl_s=3.0, recovery_interval_s=0.5),
        retry=RetrySettings(
            max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0.01
        ),
    )
    linked = link_to_sandbox(base, sandbox)
    # Authentication as configured by default (required, embedded issuer), on a free port.
    auth = AuthSettings(
        issuer=TokenIssuerSettings(
            address="127.0.0.1:0",
            clients=issuer_clients([p.id for p in linked.partners], client_key),
        )
    )
    return linked.model_copy(update={"auth": auth})


@pytest.fixture(scope="session")
async def gateway(gateway_settings: GatewaySettings) -> AsyncIterator[RunningGateway]:
    async with running_gateway(gateway_settings, "127.0.0.1:0") as running:
        assert running.issuer_url is not None
        yield running


@pytest.fixture(scope="session")
def tokens(gateway: RunningGateway, gateway_settings: GatewaySettings) -> PartnerTokens:
    """The partners' tokens from the session gateway's issuer, as `channel` attaches them."""
    return partner_tokens(gateway_settings, gateway)


@pytest.fixture(scope="session")
async def channel(
    gateway: RunningGateway, tokens: PartnerTokens
) -> AsyncIterator[grpc.aio.Channel]:
    async with open_channel(gateway.target, tokens=tokens) as channel:
        yield channel


@pytest.fixture(scope="session")
async def client(gateway: RunningGateway, tokens: PartnerTokens) -> AsyncIterator[GatewayClient]:
    """The session gateway's client, acting as `tests.support.DEFAULT_PARTNER` unless a request
    names another; `client.for_partner(p)` acts as `p` (one channel per partner, kept)."""
    async with GatewayClient(gateway.target, tokens=tokens) as client:
        yield client


@pytest.fixture(scope="session")
async def gateway_without_auth(
    gateway_settings: GatewaySettings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningGateway]:
    """A gateway with `auth.required: false`, for the few tests of what a request must name
    when no token says who calls. Everything else runs with tokens, as by default."""
    settings = gateway_settings.model_copy(
        update={
            "auth": AuthSettings(required=False, issuer=TokenIssuerSettings(enabled=False)),
            "state_dir": tmp_path_factory.mktemp("without-auth"),
        }
    )
    async with running_gateway(settings, "127.0.0.1:0") as running:
        yield running


@pytest.fixture(scope="session")
async def channel_without_auth(
    gateway_without_auth: RunningGateway,
) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(gateway_without_auth.target) as channel:
        yield channel


@pytest.fixture
async def stub(channel: grpc.aio.Channel, control: SandboxControl, gateway: RunningGateway) -> Stub:
    """The gateway's client stub, with every sandbox partner fast, healthy and its ledger empty."""
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
    for adapter in gateway.directory.adapters().values():
        if isinstance(adapter, GuardedAdapter):
            adapter.breaker.reset()  # one test's failing partner does not open another's breaker
    stub: Stub = solution_service_pb2_grpc.SolutionServiceStub(channel)
    return stub


DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


# Both are plain fixtures: `open_store` asks for them only in its PostgreSQL case, from
# inside the event loop, where an async fixture cannot be set up.
@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    dsn = os.environ.get("PSG_TEST_POSTGRES_DSN", DEFAULT_DSN)
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        if "CI" in os.environ:
            pytest.fail(f"CI needs PostgreSQL at {dsn}: {exc}")
        pytest.skip(f"no PostgreSQL at {dsn} (set PSG_TEST_POSTGRES_DSN): {exc}")
    return dsn


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A schema name of this test's own; the stores create it, teardown drops it."""
    schema = f"t_{uuid.uuid4().hex}"
    yield schema
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
