"""Building the gRPC server: services, health, reflection, limits. `build_server` is a factory
that returns the server and the port it bound, so tests start it on port 0."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from gateway.auth import AuthInterceptor
from gateway.interceptors import ErrorInterceptor
from gateway.malformed import MalformedRequestInterceptor
from gateway.ratelimit import RateLimiter, RateLimitInterceptor
from gateway.settings import ServerSettings, TlsSettings
from gateway.telemetry import MetricsInterceptor, Telemetry
from partnergateway.v1 import (
    consent_service_pb2,
    consent_service_pb2_grpc,
    feedback_service_pb2,
    feedback_service_pb2_grpc,
    order_service_pb2,
    order_service_pb2_grpc,
    solution_service_pb2,
    solution_service_pb2_grpc,
)

SOLUTION_SERVICE = solution_service_pb2.DESCRIPTOR.services_by_name["SolutionService"].full_name
ORDER_SERVICE = order_service_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name
FEEDBACK_SERVICE = feedback_service_pb2.DESCRIPTOR.services_by_name["FeedbackService"].full_name
CONSENT_SERVICE = consent_service_pb2.DESCRIPTOR.services_by_name["ConsentService"].full_name


def server_options(settings: ServerSettings, reuse_port: bool = False) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.keepalive_time_ms", settings.keepalive_time_s * 1000),
        ("grpc.keepalive_timeout_ms", settings.keepalive_timeout_s * 1000),
        # Clients may ping every 10 s without data; faster pingers are told to go away.
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        # One process per port unless `serve --workers` asks for SO_REUSEPORT explicitly:
        # with it on, a second gateway started by mistake would silently share the port.
        ("grpc.so_reuseport", 1 if reuse_port else 0),
    ]


_HEALTH_METHODS = "/grpc.health.v1.Health/"


def _traced(details: grpc.HandlerCallDetails) -> bool:
    """Every call but health checks gets a server span. What the instrumentation's own
    `negate(health_check())` decides, without its isinstance checks against protocols
    and path splitting on every call."""
    method = details.method
    return not (method or "").startswith(_HEALTH_METHODS)


def interceptors(
    telemetry: Telemetry,
    rate_limiter: RateLimiter | None = None,
    auth: AuthInterceptor | None = None,
) -> list[grpc.aio.ServerInterceptor]:  # type: ignore[type-arg]
    """Outermost first: the server span (continuing an incoming `traceparent`; health checks
    are not traced), RED metrics, then error translation, so both see the final status;
    innermost the per-partner rate limit, whose refusals the error translation renders.
    Right after the metrics, requests that do not parse are refused (INVALID_ARGUMENT, the
    same with or without a token). With `auth`, callers are authenticated next, before the
    error translation: refusals are traced and counted, and the handler never runs."""
    chain: list[grpc.aio.ServerInterceptor] = []  # type: ignore[type-arg]
    if telemetry.enabled:
        chain.append(
            aio_server_interceptor(  # type: ignore[no-untyped-call]
                tracer_provider=telemetry.tracer_provider, filter_=_traced
            )
        )
    chain.append(MetricsInterceptor(telemetry.metrics))
    chain.append(MalformedRequestInterceptor())
    if auth is not None:
        chain.append(auth)
    chain.append(ErrorInterceptor())
    if rate_limiter is not None:
        chain.append(RateLimitInterceptor(rate_limiter))
    return chain


def server_credentials(tls: TlsSettings) -> grpc.ServerCredentials:
    """TLS from PEM files; with a client CA, mutual TLS: clients must present a certificate
    signed by it, or the handshake fails."""
    client_ca = tls.client_ca_file.read_bytes() if tls.client_ca_file else None
    return grpc.ssl_server_credentials(
        [(tls.key_file.read_bytes(), tls.cert_file.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def build_server(
    settings: ServerSettings,
    servicer: solution_service_pb2_grpc.SolutionServiceServicer,
    orders: order_service_pb2_grpc.OrderServiceServicer,
    address: str | None = None,
    *,
    reuse_port: bool = False,
    telemetry: Telemetry | None = None,
    feedback: feedback_service_pb2_grpc.FeedbackServiceServicer | None = None,
    consents: consent_service_pb2_grpc.ConsentServiceServicer | None = None,
    rate_limiter: RateLimiter | None = None,
    auth: AuthInterceptor | None = None,
) -> tuple[grpc.aio.Server, int, HealthServicer]:
    """A ready-to-start server bound to `address` (default from settings; port 0 = any).

    `reuse_port` lets several processes bind the same port (SO_REUSEPORT, `serve --workers`).
    `feedback` (the customer KPIs) and `consents` are registered and listed by reflection
    when given.
    `rate_limiter` (per calling partner) guards the gateway's services, not health.
    `settings.tls` set: the port speaks TLS (mutual TLS with a client CA), else plaintext.
    `auth` (gateway.auth) requires an access token on every RPC but health and reflection.
    """
    server = grpc.aio.server(
        interceptors=interceptors(telemetry or Telemetry(), rate_limiter, auth),
        options=server_options(settings, reuse_port),
    )
    solution_service_pb2_grpc.add_SolutionServiceServicer_to_server(servicer, server)
    order_service_pb2_grpc.add_OrderServiceServicer_to_server(orders, server)
    if feedback is not None:
        feedback_service_pb2_grpc.add_FeedbackServiceServicer_to_server(feedback, server)
    if consents is not None:
        consent_service_pb2_grpc.add_ConsentServiceServicer_to_server(consents, server)
    health_servicer = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (
            SOLUTION_SERVICE,
            ORDER_SERVICE,
            *((FEEDBACK_SERVICE,) if feedback is not None else ()),
            *((CONSENT_SERVICE,) if consents is not None else ()),
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    if settings.tls is not None:
        port = server.add_secure_port(address or settings.address, server_credentials(settings.tls))
    else:
        port = server.add_insecure_port(address or settings.address)
    if port == 0:
        raise OSError(f"cannot listen on {address or settings.address}")
    return server, port, health_servicer


async def set_serving(health_servicer: HealthServicer, serving: bool) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for service in ("", SOLUTION_SERVICE, ORDER_SERVICE, FEEDBACK_SERVICE, CONSENT_SERVICE):
        await health_servicer.set(service, status)
