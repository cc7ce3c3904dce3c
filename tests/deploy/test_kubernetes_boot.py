"""A gateway started as its Kubernetes pod starts it — `serve --config` with the ConfigMap's
file and the Deployment's environment, the Secrets made as docs/operations.md says — serves:
health SERVING on the configured port, a token from the issuer with the Secret's client
credentials accepted on a call that reads the shared PostgreSQL, nothing written outside the
pod's volumes, and on SIGTERM a clean exit within the pod's termination grace period.

Only what a test cannot have is replaced: the listen addresses (loopback, free ports), where
the signing key is mounted, the PostgreSQL (this suite's, in a schema of its own), the state
directory (a fresh directory standing for the emptyDir), and telemetry (no collector here)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import grpc
import pytest
from joserfc.jwk import ECKey

from gateway import healthprobe
from partnergateway.v1 import feedback_service_pb2, feedback_service_pb2_grpc
from tests.deploy.manifests import (
    GATEWAY,
    GATEWAY_DOCKERFILE,
    Manifests,
    config_file,
    container_environment,
    container_of,
    image_environment,
    pod_spec,
)
from tests.processes import free_port

START_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def manifests() -> Manifests:
    return Manifests.load()


def _pod_environment(
    manifests: Manifests, tmp_path: Path, postgres_dsn: str, postgres_schema: str
) -> dict[str, str]:
    manifest_env = container_environment(
        container_of(manifests, GATEWAY), manifests, image_environment(GATEWAY_DOCKERFILE)
    )
    key_file = tmp_path / "keys" / "signing-key.json"
    key_file.parent.mkdir()
    # As docs/operations.md creates the signing-key Secret.
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    key_file.write_text(json.dumps(dict(key.as_dict(private=True))), encoding="utf-8")
    data_key = base64.b64encode(os.urandom(32)).decode()
    (tmp_path / "state").mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PSG_", "OTEL_"))}
    environment.update({k: v for k, v in manifest_env.items() if k.startswith(("PSG_", "OTEL_"))})
    environment.update(
        {
            "PSG_SERVER__ADDRESS": f"127.0.0.1:{free_port()}",
            "PSG_AUTH__ISSUER__ADDRESS": f"127.0.0.1:{free_port()}",
            "PSG_AUTH__ISSUER__SIGNING_KEY_FILE": str(key_file),
            "PSG_STORAGE__DSN": postgres_dsn,
            "PSG_STORAGE__PG_SCHEMA": postgres_schema,
            "PSG_STORAGE__DATA_KEYS": json.dumps(
                {manifest_env["PSG_STORAGE__DATA_KEY_ID"]: data_key}
            ),
            "PSG_STATE_DIR": str(tmp_path / "state"),
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "none",
        }
    )
    environment.pop("OTEL_EXPORTER_OTLP_ENDPOINT")
    return environment


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


@pytest.fixture
async def pod(
    manifests: Manifests,
    tmp_path: Path,
    postgres_dsn: str,
    postgres_schema: str,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, str], Path]]:
    """The gateway process once it serves, its environment, and its working directory."""
    _, content = config_file(manifests)
    config = tmp_path / "config" / "gateway.yaml"
    config.parent.mkdir()
    config.write_text(content, encoding="utf-8")
    environment = _pod_environment(manifests, tmp_path, postgres_dsn, postgres_schema)
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--config",
        str(config),
        env=environment,
        cwd=workdir,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    drain: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while b"gateway serving on port" not in (line := await process.stderr.readline()):
                assert line, "the gateway exited before serving"
        drain = asyncio.create_task(_drain(process.stderr))
        yield process, environment, workdir
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        if drain is not None:
            drain.cancel()


def _token(issuer_address: str, client_id: str, client_secret: str) -> str:
    """Client credentials at the embedded issuer (client_secret_basic), never via a proxy."""
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    request = urllib.request.Request(
        f"http://{issuer_address}/oauth/token",
        data=urlencode({"grant_type": "client_credentials"}).encode(),
        headers={"Authorization": f"Basic {basic}"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        token: str = json.load(response)["access_token"]
        return token


async def test_the_pod_configuration_serves_and_stops_in_time(
    pod: tuple[asyncio.subprocess.Process, dict[str, str], Path], manifests: Manifests
) -> None:
    process, environment, workdir = pod
    address = environment["PSG_SERVER__ADDRESS"]
    status = await asyncio.to_thread(healthprobe.check, address, "", 5.0)
    assert status == "SERVING"

    # A partner from the issuer-clients Secret gets a token, and the gateway accepts it on a
    # call answered from PostgreSQL.
    [client, *_] = json.loads(environment["PSG_AUTH__ISSUER__CLIENTS"])
    token = await asyncio.to_thread(
        _token,
        environment["PSG_AUTH__ISSUER__ADDRESS"],
        client["client_id"],
        client["client_secret"],
    )
    async with grpc.aio.insecure_channel(
        address, options=[("grpc.enable_http_proxy", 0)]
    ) as channel:
        stub = feedback_service_pb2_grpc.FeedbackServiceStub(channel)
        report = await stub.GetKpiReport(
            feedback_service_pb2.GetKpiReportRequest(partner_id=client["client_id"]),
            metadata=[("authorization", f"Bearer {token}")],
            timeout=10,
        )
        assert list(report.rows) == []
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetKpiReport(feedback_service_pb2.GetKpiReportRequest(), timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

    # With PostgreSQL, the inline key ring and the mounted key, the pod's writable state
    # directory stays empty, and nothing lands in the (read-only) working directory.
    written = await asyncio.to_thread(
        lambda: [*Path(environment["PSG_STATE_DIR"]).iterdir(), *workdir.iterdir()]
    )
    assert written == []

    # SIGTERM (after the preStop pause): stopped and closed before the kubelet's SIGKILL.
    pre_stop = container_of(manifests, GATEWAY)["lifecycle"]["preStop"]["sleep"]["seconds"]
    allowed = pod_spec(manifests, GATEWAY)["terminationGracePeriodSeconds"] - pre_stop
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(allowed):
        code = await process.wait()
    assert code == 0
    assert time.monotonic() - started < allowed
