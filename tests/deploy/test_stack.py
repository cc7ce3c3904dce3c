"""The shape of the compose stack: two gateway replicas behind Envoy, PostgreSQL, the
sandbox partners, the OpenTelemetry Collector and Jaeger v2, with health checks and ordered
start; the replicas' token issuers behind Envoy too, sharing one URL and one signing key; and
Envoy's and the collector's configurations referencing only what they define."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gateway.auth import missing_token_source
from gateway.settings import load_settings
from tests.deploy.stack import DOCKER, load_yaml

GATEWAY_DOCKERFILE = "docker/gateway.Dockerfile"
SANDBOX_PORTS = set(range(8401, 8407))
# The collector image is built FROM scratch: no shell or tool to run a health check with.
NO_HEALTHCHECK = {"otel-collector"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    found: dict[str, Any] = load_yaml("compose.yaml")["services"]
    return found


@pytest.fixture(scope="module")
def gateways(services: dict[str, Any]) -> dict[str, Any]:
    return {
        name: service
        for name, service in services.items()
        if service.get("build", {}).get("dockerfile") == GATEWAY_DOCKERFILE
    }


def test_two_gateway_replicas_with_distinct_names(gateways: dict[str, Any]) -> None:
    assert len(gateways) == 2
    replica_ids = {g["environment"]["PSG_BOOKING__REPLICA_ID"] for g in gateways.values()}
    assert replica_ids == set(gateways)


def test_gateways_share_postgres_and_export_to_the_collector(
    gateways: dict[str, Any], services: dict[str, Any]
) -> None:
    assert {"postgres", "otel-collector", "sandbox"} <= set(services)
    for gateway in gateways.values():
        environment = gateway["environment"]
        assert environment["PSG_STORAGE__DSN"].startswith("postgresql://")
        assert "@postgres:5432/" in environment["PSG_STORAGE__DSN"]
        assert environment["OTEL_SERVICE_NAME"]
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
        assert "gateway.healthprobe" in gateway["healthcheck"]["test"]


def test_gateway_config_is_valid_and_points_at_the_sandbox_service(
    gateways: dict[str, Any], services: dict[str, Any]
) -> None:
    for gateway in gateways.values():
        config_path = gateway["command"][gateway["command"].index("--config") + 1]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in gateway["volumes"]}
        settings = load_settings(DOCKER / mounts[config_path])

        assert len(settings.partners) == 6
        hosts = {p.base_url.removeprefix("http://").split(":")[0] for p in settings.partners}
        ports = {int(p.base_url.rsplit(":", 1)[1]) for p in settings.partners}
        assert hosts == {"sandbox"}
        assert ports == SANDBOX_PORTS
        assert settings.server.address == "0.0.0.0:50051"
        grace = settings.server.grace_period_s
        assert _seconds(gateway["stop_grace_period"]) > grace, "Docker would SIGKILL mid-drain"
    sandbox = services["sandbox"]
    assert sandbox["command"][:2] == ["--host", "0.0.0.0"]


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return float(match.group(1))


def test_every_service_has_a_health_check_and_ordered_start(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name not in NO_HEALTHCHECK:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} is never healthy"
            else:
                assert dependency in NO_HEALTHCHECK, f"{name} should wait for {dependency}"
    _start_order(services)  # raises on a cycle


def _start_order(services: dict[str, Any]) -> list[str]:
    order: list[str] = []
    pending = dict(services)
    while pending:
        ready = [n for n, s in pending.items() if set(s.get("depends_on", {})) <= set(order)]
        assert ready, f"dependency cycle among {sorted(pending)}"
        order.extend(sorted(ready))
        for name in ready:
            del pending[name]
    return order


def test_the_load_balancer_waits_for_and_reaches_both_replicas(
    services: dict[str, Any], gateways: dict[str, Any]
) -> None:
    envoy = services["envoy"]
    for name in gateways:
        assert envoy["depends_on"][name] == {"condition": "service_healthy"}
    order = _start_order(services)
    assert all(order.index("envoy") > order.index(name) for name in gateways)
    assert all(order.index(name) > order.index("postgres") for name in gateways)

    cluster = _envoy_clusters()["gateway_replicas"]
    assert _endpoints(cluster) == {f"{name}:50051" for name in gateways}


def test_images_are_pinned_and_jaeger_is_v2(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service["image"]
        assert image.partition(":")[2] not in ("", "latest"), f"{name}: pin {image}"
    assert re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", services["jaeger"]["image"])
    assert services["otel-collector"]["image"].startswith("otel/opentelemetry-collector-contrib:")


def test_mounted_files_exist(services: dict[str, Any]) -> None:
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).is_file(), source


# --- Envoy and the collector -----------------------------------------------------------------


def _envoy_clusters() -> dict[str, Any]:
    resources = load_yaml("envoy.yaml")["static_resources"]
    return {cluster["name"]: cluster for cluster in resources["clusters"]}


def _envoy_listeners() -> dict[str, Any]:
    resources = load_yaml("envoy.yaml")["static_resources"]
    return {listener["name"]: listener for listener in resources["listeners"]}


def _envoy_routes(listener_name: str) -> list[dict[str, Any]]:
    return [
        route
        for listener in [_envoy_listeners()[listener_name]]
        for chain in listener["filter_chains"]
        for f in chain["filters"]
        for host in f["typed_config"]["route_config"]["virtual_hosts"]
        for route in host["routes"]
    ]


def test_envoy_routes_grpc_over_http2_round_robin_to_healthy_replicas() -> None:
    clusters = _envoy_clusters()
    routes = _envoy_routes("grpc_ingress")
    assert routes
    for route in routes:
        cluster = clusters[route["route"]["cluster"]]
        assert cluster["lb_policy"] == "ROUND_ROBIN"
        options = cluster["typed_extension_protocol_options"][
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
        ]
        assert "http2_protocol_options" in options["explicit_http_config"]
        assert any("grpc_health_check" in check for check in cluster["health_checks"])
        assert route["route"]["timeout"] == "0s", "a route timeout would cut order streams"


def _endpoints(cluster: dict[str, Any]) -> set[str]:
    return {
        f"{e['endpoint']['address']['socket_address']['address']}:"
        f"{e['endpoint']['address']['socket_address']['port_value']}"
        for group in cluster["load_assignment"]["endpoints"]
        for e in group["lb_endpoints"]
    }


def test_replicas_require_tokens_from_one_issuer_url_signed_with_one_key(
    gateways: dict[str, Any], services: dict[str, Any]
) -> None:
    urls = {g["environment"]["PSG_AUTH__ISSUER__URL"] for g in gateways.values()}
    assert len(urls) == 1, "every replica must name itself by one issuer URL"
    url = urls.pop()
    key_volumes = set()
    for gateway in gateways.values():
        config_path = gateway["command"][gateway["command"].index("--config") + 1]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in gateway["volumes"]}
        settings = load_settings(DOCKER / mounts[config_path])
        auth = settings.auth
        assert auth.required
        assert auth.issuer.enabled
        assert missing_token_source(auth) is None, "nobody could get a token"
        assert {c.client_id for c in auth.issuer.clients} == {p.id for p in settings.partners}
        key = auth.issuer.signing_key_file
        assert key is not None, "without a key file each replica signs with a key of its own"
        [source] = [s for t, s in mounts.items() if key.is_relative_to(t) and not s.startswith(".")]
        key_volumes.add(source)
        issuer_port = int(auth.issuer.address.rsplit(":", 1)[1])
    assert len(key_volumes) == 1, "the replicas must share one signing key"
    assert key_volumes <= set(load_yaml("compose.yaml")["volumes"])
    assert "/var/lib/gateway/issuer" in (DOCKER / "gateway.Dockerfile").read_text()

    # Clients reach the issuers at the URL: Envoy publishes it and spreads it over every
    # replica's issuer port.
    published = int(url.rsplit(":", 1)[1])
    assert f"127.0.0.1:{published}:{published}" in services["envoy"]["ports"]
    listener = next(
        item
        for item in _envoy_listeners().values()
        if item["address"]["socket_address"]["port_value"] == published
    )
    [route] = _envoy_routes(listener["name"])
    issuers = _envoy_clusters()[route["route"]["cluster"]]
    assert _endpoints(issuers) == {f"{name}:{issuer_port}" for name in gateways}
    assert issuers["lb_policy"] == "ROUND_ROBIN"
    assert any("http_health_check" in check for check in issuers["health_checks"])


def test_envoy_listens_on_the_published_port(services: dict[str, Any]) -> None:
    listeners = load_yaml("envoy.yaml")["static_resources"]["listeners"]
    listening = {item["address"]["socket_address"]["port_value"] for item in listeners}
    published = {int(port.rsplit(":", 1)[1]) for port in services["envoy"]["ports"]}
    assert published <= listening


def test_collector_pipelines_use_only_defined_components() -> None:
    collector = load_yaml("otel-collector.yaml")
    service = collector["service"]
    assert set(service["extensions"]) <= set(collector["extensions"])
    for name, pipeline in service["pipelines"].items():
        for section in ("receivers", "processors", "exporters"):
            for component in pipeline.get(section, []):
                assert component in collector[section], f"{name}: {component} is undefined"


def test_collector_exports_traces_to_jaeger_otlp_and_metrics_to_prometheus(
    services: dict[str, Any],
) -> None:
    collector = load_yaml("otel-collector.yaml")
    pipelines = collector["service"]["pipelines"]
    trace_exporters = [collector["exporters"][e] for e in pipelines["traces"]["exporters"]]
    assert {"endpoint": "jaeger:4317", "tls": {"insecure": True}} in trace_exporters
    assert "jaeger" in services
    receivers = collector["receivers"]["otlp"]["protocols"]
    assert receivers["grpc"]["endpoint"].endswith(":4317")

    assert "prometheus" in pipelines["metrics"]["exporters"]
    scrape_port = int(collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1])
    published = {int(p.rsplit(":", 1)[1]) for p in services["otel-collector"]["ports"]}
    assert scrape_port in published
