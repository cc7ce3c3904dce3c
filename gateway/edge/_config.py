"""The deployment's Envoy config, moved to loopback: same listeners, filters, routes, CORS
policy, health checks and retry policy — only addresses, ports, the descriptor set's path
and (when asked) the allowed origins change. A test of Envoy is then a test of the file
docker compose runs."""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DESCRIPTOR_SET",
    "ENVOY_CONFIG",
    "Address",
    "EdgeLayout",
    "load_envoy_config",
    "local_envoy_config",
]

_ROOT = Path(__file__).resolve().parents[2]
ENVOY_CONFIG = _ROOT / "docker" / "envoy.yaml"
"""The one Envoy config: the compose stack mounts it, the tests and the demo rewrite it."""
DESCRIPTOR_SET = _ROOT / "proto" / "partnergateway" / "descriptor_set.binpb"
"""Written by `make proto` (tools/protogen.py); the JSON transcoder reads it."""

GRPC_LISTENER = "grpc_ingress"
ISSUER_LISTENER = "token_issuer"
REPLICA_CLUSTER = "gateway_replicas"
ISSUER_CLUSTER = "gateway_issuers"
_TRANSCODER = "envoy.filters.http.grpc_json_transcoder"
_CORS = "envoy.filters.http.cors"

Address = tuple[str, int]


@dataclass(frozen=True)
class EdgeLayout:
    """Where Envoy listens and what it sends to, on this machine."""

    replicas: tuple[Address, ...]
    """The gateways' gRPC ports."""
    issuers: tuple[Address, ...] = ()
    """The gateways' embedded token issuers; none: no issuer listener at all."""
    grpc_listen: Address = ("127.0.0.1", 0)
    issuer_listen: Address = ("127.0.0.1", 0)
    allowed_origins: tuple[str, ...] | None = None
    """Origins whose pages may call through Envoy (CORS); None keeps the config's."""
    descriptor_set: Path = DESCRIPTOR_SET
    access_log: bool = False
    """Envoy's per-request stdout log, which the tests and the demo do without."""

    def __post_init__(self) -> None:
        if not self.replicas:
            raise ValueError("Envoy needs at least one gateway replica to send to")
        if self.allowed_origins is not None and "*" in self.allowed_origins:
            raise ValueError("name each allowed origin: '*' lets any page call the gateway")


def load_envoy_config(path: Path = ENVOY_CONFIG) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return config


def _socket(address: Address) -> dict[str, Any]:
    return {"socket_address": {"address": address[0], "port_value": address[1]}}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _managers(listener: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for chain in listener["filter_chains"]:
        for network_filter in chain["filters"]:
            if network_filter["name"] == "envoy.filters.network.http_connection_manager":
                yield network_filter["typed_config"]


def _endpoints(cluster: dict[str, Any], addresses: tuple[Address, ...]) -> None:
    cluster["load_assignment"]["endpoints"] = [
        {"lb_endpoints": [{"endpoint": {"address": _socket(a)}} for a in addresses]}
    ]
    # Literal addresses need no resolver; names (localhost) keep STRICT_DNS.
    if all(_is_ip(host) for host, _ in addresses):
        cluster["type"] = "STATIC"


def local_envoy_config(source: dict[str, Any], layout: EdgeLayout) -> dict[str, Any]:
    """`source` (the deployment's config) with every address taken from `layout`."""
    config = copy.deepcopy(source)
    config["admin"] = {"address": _socket(("127.0.0.1", 0))}
    resources = config["static_resources"]
    listeners = {item["name"]: item for item in resources["listeners"]}
    clusters = {item["name"]: item for item in resources["clusters"]}
    missing = {GRPC_LISTENER, ISSUER_LISTENER} - set(listeners)
    missing |= {REPLICA_CLUSTER, ISSUER_CLUSTER} - set(clusters)
    if missing:
        raise ValueError(f"the Envoy config lacks {', '.join(sorted(missing))}")

    listeners[GRPC_LISTENER]["address"] = _socket(layout.grpc_listen)
    _endpoints(clusters[REPLICA_CLUSTER], layout.replicas)
    if layout.issuers:
        listeners[ISSUER_LISTENER]["address"] = _socket(layout.issuer_listen)
        _endpoints(clusters[ISSUER_CLUSTER], layout.issuers)
    else:
        resources["listeners"] = [i for i in resources["listeners"] if i["name"] != ISSUER_LISTENER]
        resources["clusters"] = [c for c in resources["clusters"] if c["name"] != ISSUER_CLUSTER]

    for listener in resources["listeners"]:
        for manager in _managers(listener):
            if not layout.access_log:
                manager.pop("access_log", None)
            for http_filter in manager.get("http_filters", []):
                if http_filter["name"] == _TRANSCODER:
                    http_filter["typed_config"]["proto_descriptor"] = str(layout.descriptor_set)
            if layout.allowed_origins is None:
                continue
            for host in manager["route_config"]["virtual_hosts"]:
                policy = host.get("typed_per_filter_config", {}).get(_CORS)
                if policy is not None:
                    policy["allow_origin_string_match"] = [
                        {"exact": origin} for origin in layout.allowed_origins
                    ]
    return config
