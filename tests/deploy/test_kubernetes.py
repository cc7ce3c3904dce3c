"""The Kubernetes manifests (deploy/kubernetes/), checked without a cluster: every object
validates strictly (unknown fields fail) against the Kubernetes API schemas of a pinned
version, shipped offline by `kubernetes-validate`; and the pieces fit each other and the
gateway — the environment and the mounted configuration make valid gateway settings naming
only real settings, the probes ask grpc.health.v1 on the port the gateway listens on, the pod
outlives the drain, selectors pick the gateway's pods, every referenced Secret and ConfigMap key
exists, and the containers run unprivileged on a read-only root."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information
import pytest
import yaml

from gateway.auth import missing_token_source
from gateway.settings import GatewaySettings, load_settings
from tests.deploy.manifests import (
    FIELD_VALUES,
    GATEWAY,
    GATEWAY_DOCKERFILE,
    MANIFESTS,
    SANDBOX,
    SANDBOX_DOCKERFILE,
    SECRETS_EXAMPLE,
    Document,
    Manifest,
    Manifests,
    config_file,
    config_map_references,
    container_environment,
    container_of,
    image_environment,
    load_kustomization,
    pod_labels,
    pod_spec,
    secret_references,
    selects,
    string_data,
    unknown_env_names,
    unknown_keys,
)
from tests.deploy.stack import load_yaml

pytestmark = pytest.mark.unit

# The API schemas the manifests are checked against. Strict: a misspelt or misplaced field
# fails instead of being dropped. (The cluster needs 1.30 or later, for the preStop `sleep`
# action, on by default from 1.30: a feature gate, which no schema shows.)
KUBERNETES_VERSION = "1.33.0"
# Time the pod needs after the drain: the audit sealer's last round, the telemetry flush.
CLOSING_MARGIN_S = 5

MANIFEST_LIST = Manifests.load()


@pytest.fixture(scope="module")
def manifests() -> Manifests:
    return MANIFEST_LIST


def _gateway_environment(manifests: Manifests) -> dict[str, str]:
    return container_environment(
        container_of(manifests, GATEWAY), manifests, image_environment(GATEWAY_DOCKERFILE)
    )


@pytest.fixture
def settings(
    manifests: Manifests, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> GatewaySettings:
    """The gateway's settings as its pod builds them: the mounted file under its environment
    (the example Secrets' placeholders standing in for the real values)."""
    for name in list(os.environ):
        if name.startswith("PSG_"):
            monkeypatch.delenv(name)
    for name, value in _gateway_environment(manifests).items():
        if name.startswith("PSG_"):
            monkeypatch.setenv(name, value)
    _, content = config_file(manifests)
    config = tmp_path / "gateway.yaml"
    config.write_text(content, encoding="utf-8")
    return load_settings(config)


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _container_port(container: Document, port: int | str) -> int:
    """A container port by number or by name."""
    for declared in container["ports"]:
        if port in (declared["containerPort"], declared.get("name")):
            number: int = declared["containerPort"]
            return number
    raise AssertionError(f"container {container['name']} declares no port {port!r}")


# --- the schema ---------------------------------------------------------------------------


@pytest.mark.parametrize("manifest", MANIFEST_LIST.items, ids=lambda m: m.id)
def test_every_object_validates_strictly_against_the_kubernetes_schema(manifest: Manifest) -> None:
    validated = kubernetes_validate.validate(manifest.document, KUBERNETES_VERSION, strict=True)

    assert validated == KUBERNETES_VERSION.rsplit(".", 1)[0]


def test_strict_validation_refuses_an_unknown_field(manifests: Manifests) -> None:
    deployment = manifests.get("Deployment", GATEWAY)
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}

    with pytest.raises(kubernetes_validate.ValidationError, match="replica"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_applies_everything_but_the_placeholder_secrets() -> None:
    resources = set(load_kustomization()["resources"])
    files = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}

    assert resources == files - {SECRETS_EXAMPLE}
    listed = [m for m in MANIFEST_LIST.items if m.file in resources]
    assert not [m.id for m in listed if m.kind == "Secret"], "apply would overwrite real secrets"


# --- settings -----------------------------------------------------------------------------


def test_environment_and_config_file_are_valid_gateway_settings(
    settings: GatewaySettings, manifests: Manifests
) -> None:
    secret = string_data(manifests.get("Secret", "partner-gateway-secrets"))

    assert settings.storage.dsn == secret["storage-dsn"]
    assert settings.storage.dsn.startswith("postgresql://")
    assert settings.storage.data_key_id in settings.storage.data_keys
    assert settings.auth.required
    assert missing_token_source(settings.auth) is None, "nobody could get a token"
    assert {c.client_id for c in settings.auth.issuer.clients} == {p.id for p in settings.partners}
    assert settings.booking.replica_id == "partner-gateway-5d8f7c9b6-x2x7q", "the pod's name"


def test_every_variable_and_config_key_names_a_real_setting(manifests: Manifests) -> None:
    names = list(_gateway_environment(manifests))
    _, content = config_file(manifests)

    assert [n for n in names if n.startswith("PSG_")], "the gateway's environment sets nothing"
    assert unknown_env_names(names, GatewaySettings, "PSG_") == []
    assert unknown_keys(yaml.safe_load(content), GatewaySettings) == []
    # The checks themselves find a misspelt name (pydantic would silently ignore it).
    assert unknown_env_names(["PSG_SERVER__ADRESS"], GatewaySettings, "PSG_") == [
        "PSG_SERVER__ADRESS"
    ]
    assert unknown_keys({"server": {"grace_s": 1}}, GatewaySettings) == ["server.grace_s"]


def test_state_dir_and_key_file_are_where_the_pod_provides_them(
    settings: GatewaySettings, manifests: Manifests
) -> None:
    container = container_of(manifests, GATEWAY)
    pod = pod_spec(manifests, GATEWAY)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {Path(m["mountPath"]): volumes[m["name"]] for m in container["volumeMounts"]}

    # The root file system is read-only: state_dir must be on a writable volume.
    [state] = [v for p, v in mounts.items() if settings.state_dir.is_relative_to(p)]
    assert "emptyDir" in state
    # One signing key for every replica (tokens and audit checkpoints): the mounted Secret's.
    key_file = settings.auth.issuer.signing_key_file
    assert key_file is not None
    assert settings.audit_key_file() == key_file
    [(directory, volume)] = [(p, v) for p, v in mounts.items() if key_file.is_relative_to(p)]
    secret = volume["secret"]
    [item] = [i for i in secret["items"] if i["path"] == str(key_file.relative_to(directory))]
    assert item["key"] in string_data(manifests.get("Secret", secret["secretName"]))


def test_the_issuer_url_is_the_gateway_service(
    settings: GatewaySettings, manifests: Manifests
) -> None:
    url = urlsplit(settings.auth.issuer.url or "")
    service = manifests.get("Service", url.hostname or "")
    [port] = [p for p in service["spec"]["ports"] if p["port"] == url.port]
    container = container_of(manifests, GATEWAY)

    assert _container_port(container, port["targetPort"]) == _port(settings.auth.issuer.address)
    assert settings.auth.issuer.address.startswith("0.0.0.0:"), "other pods must reach it"


def test_partners_are_the_sandbox_service(settings: GatewaySettings, manifests: Manifests) -> None:
    service_ports = {p["port"]: p for p in manifests.get("Service", SANDBOX)["spec"]["ports"]}
    sandbox = container_of(manifests, SANDBOX)
    args = sandbox["args"]
    base_port = int(args[args.index("--base-port") + 1])

    assert args[args.index("--host") + 1] == "0.0.0.0", "other pods must reach the partners"
    assert len(settings.partners) == 6
    listening = {base_port + i for i in range(len(settings.partners))}
    for partner in settings.partners:
        url = urlsplit(partner.base_url)
        assert url.hostname == SANDBOX
        assert url.port in service_ports, partner.id
        assert _container_port(sandbox, service_ports[url.port]["targetPort"]) in listening


# --- probes and termination ---------------------------------------------------------------


def test_probes_ask_grpc_health_on_the_port_the_gateway_listens_on(
    settings: GatewaySettings, manifests: Manifests
) -> None:
    container = container_of(manifests, GATEWAY)
    listening = _port(settings.server.address)

    assert settings.server.address.startswith("0.0.0.0:"), "the kubelet probes the pod's IP"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        grpc = container[probe]["grpc"]
        assert grpc["port"] == listening, probe
        assert grpc.get("service", "") == "", f"{probe}: the whole server's health"
    assert _container_port(container, "grpc") == listening
    for service in manifests.of_kind("Service"):
        if selects(service["spec"]["selector"], pod_labels(manifests, GATEWAY)):
            [grpc_port] = [p for p in service["spec"]["ports"] if p["name"] == "grpc"]
            assert _container_port(container, grpc_port["targetPort"]) == listening


def test_the_pod_outlives_the_drain(settings: GatewaySettings, manifests: Manifests) -> None:
    pod = pod_spec(manifests, GATEWAY)
    pre_stop = container_of(manifests, GATEWAY)["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = settings.server.grace_period_s

    # The kubelet's clock runs from the start of preStop; SIGKILL comes when it runs out.
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + grace + CLOSING_MARGIN_S


# --- selectors, references ----------------------------------------------------------------


@pytest.mark.parametrize("deployment", [GATEWAY, SANDBOX])
def test_the_deployment_selects_its_own_pods_only(manifests: Manifests, deployment: str) -> None:
    spec = manifests.get("Deployment", deployment)["spec"]
    other = SANDBOX if deployment == GATEWAY else GATEWAY

    assert selects(spec["selector"], pod_labels(manifests, deployment))
    assert not selects(spec["selector"], pod_labels(manifests, other))


def test_budget_autoscaler_services_and_spread_select_the_gateway_pods(
    manifests: Manifests,
) -> None:
    gateway = pod_labels(manifests, GATEWAY)
    sandbox = pod_labels(manifests, SANDBOX)
    pod = pod_spec(manifests, GATEWAY)
    [budget] = manifests.of_kind("PodDisruptionBudget")
    [autoscaler] = manifests.of_kind("HorizontalPodAutoscaler")
    gateway_services = [s for s in manifests.of_kind("Service") if s["metadata"]["name"] != SANDBOX]

    selectors = [budget["spec"]["selector"]]
    selectors += [s["spec"]["selector"] for s in gateway_services]
    selectors += [c["labelSelector"] for c in pod["topologySpreadConstraints"]]
    for selector in selectors:
        assert selects(selector, gateway), selector
        assert not selects(selector, sandbox), selector
    assert selects(manifests.get("Service", SANDBOX)["spec"]["selector"], sandbox)
    target = autoscaler["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        GATEWAY,
    )


def test_every_service_port_targets_a_declared_container_port(manifests: Manifests) -> None:
    for service in manifests.of_kind("Service"):
        deployments = [
            name
            for name in (GATEWAY, SANDBOX)
            if selects(service["spec"]["selector"], pod_labels(manifests, name))
        ]
        assert len(deployments) == 1, service["metadata"]["name"]
        container = container_of(manifests, deployments[0])
        for port in service["spec"]["ports"]:
            _container_port(container, port["targetPort"])


@pytest.mark.parametrize("deployment", [GATEWAY, SANDBOX])
def test_every_referenced_secret_and_config_map_key_exists(
    manifests: Manifests, deployment: str
) -> None:
    pod = pod_spec(manifests, deployment)

    for name, key in secret_references(pod):
        assert manifests.has("Secret", name), f"no Secret {name} (in {SECRETS_EXAMPLE})"
        values = string_data(manifests.get("Secret", name))
        assert key is None or key in values, f"Secret {name} has no key {key}"
    for name, key in config_map_references(pod):
        config_map = manifests.get("ConfigMap", name)
        assert key is None or key in string_data(config_map), f"ConfigMap {name}: no {key}"


def test_the_secrets_the_gateway_uses_are_the_documented_ones(manifests: Manifests) -> None:
    pod = pod_spec(manifests, GATEWAY)
    used = set(secret_references(pod))
    examples = {
        (secret["metadata"]["name"], key)
        for secret in manifests.of_kind("Secret")
        for key in string_data(secret)
    }

    # Each key of the example is used, so the example documents nothing the pod ignores.
    assert used == examples


# --- scaling ------------------------------------------------------------------------------


def test_autoscaler_and_budget_leave_room_to_drain_and_grow(manifests: Manifests) -> None:
    deployment = manifests.get("Deployment", GATEWAY)["spec"]
    [autoscaler] = manifests.of_kind("HorizontalPodAutoscaler")
    [budget] = manifests.of_kind("PodDisruptionBudget")
    scaling = autoscaler["spec"]
    [metric] = scaling["metrics"]
    requests = container_of(manifests, GATEWAY)["resources"]["requests"]

    assert 2 <= scaling["minReplicas"] <= deployment["replicas"] <= scaling["maxReplicas"]
    assert scaling["maxReplicas"] > scaling["minReplicas"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    assert "cpu" in requests, "CPU utilization is a share of the request"
    # A node drain can evict a replica while the others serve.
    if "maxUnavailable" in budget["spec"]:
        assert 1 <= budget["spec"]["maxUnavailable"] < scaling["minReplicas"]
    else:
        assert budget["spec"]["minAvailable"] < scaling["minReplicas"]
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


# --- the containers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deployment", "dockerfile"),
    [(GATEWAY, GATEWAY_DOCKERFILE), (SANDBOX, SANDBOX_DOCKERFILE)],
    ids=[GATEWAY, SANDBOX],
)
def test_containers_run_unprivileged_on_a_read_only_root(
    manifests: Manifests, deployment: str, dockerfile: Path
) -> None:
    pod = pod_spec(manifests, deployment)
    [container] = pod["containers"]
    security = {**pod["securityContext"], **container["securityContext"]}
    image_user = [
        line.split()[1].split(":")[0]
        for line in dockerfile.read_text(encoding="utf-8").splitlines()
        if line.startswith("USER ")
    ]

    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == int(image_user[-1]) != 0
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][bound]), bound
    mounted = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/tmp" in mounted, "a writable /tmp on the read-only root"


def test_images_are_the_ones_compose_builds(manifests: Manifests) -> None:
    compose = load_yaml("compose.yaml")["services"]
    built = {
        service["build"]["dockerfile"]: service["image"]
        for service in compose.values()
        if "build" in service
    }

    assert container_of(manifests, GATEWAY)["image"] == built["docker/gateway.Dockerfile"]
    assert container_of(manifests, SANDBOX)["image"] == built["docker/sandbox.Dockerfile"]
    names = {image["name"] for image in load_kustomization()["images"]}
    assert names == {image.split(":")[0] for image in built.values()}


# --- telemetry ----------------------------------------------------------------------------


def test_both_export_to_the_collector_from_one_config_map(manifests: Manifests) -> None:
    service_names = set()
    for deployment, dockerfile in ((GATEWAY, GATEWAY_DOCKERFILE), (SANDBOX, SANDBOX_DOCKERFILE)):
        container = container_of(manifests, deployment)
        sources = [s["configMapRef"]["name"] for s in container["envFrom"]]
        environment = container_environment(container, manifests, image_environment(dockerfile))

        assert sources == ["partner-gateway-telemetry"]
        endpoint = urlsplit(environment["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert endpoint.scheme in ("http", "https")
        assert endpoint.port is not None
        pod_name = FIELD_VALUES["metadata.name"]
        assert f"service.instance.id={pod_name}" in environment["OTEL_RESOURCE_ATTRIBUTES"]
        service_names.add(environment["OTEL_SERVICE_NAME"])
    assert service_names == {GATEWAY, SANDBOX}
