"""Reading the Kubernetes manifests of deploy/kubernetes/ as the cluster would: every document
of every file, what a container's environment becomes (the image's ENV, then `envFrom`, then
`env`, with ConfigMap, Secret and downward-API references resolved), and which settings names
a `PSG_*` variable or a key of the YAML configuration addresses."""

from __future__ import annotations

import base64
import re
import shlex
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = "kustomization.yaml"
# Placeholder Secrets, deliberately outside the kustomization (it would overwrite real ones).
SECRETS_EXAMPLE = "secrets.example.yaml"

GATEWAY = "partner-gateway"
SANDBOX = "partner-sandbox"
GATEWAY_DOCKERFILE = ROOT / "docker" / "gateway.Dockerfile"
SANDBOX_DOCKERFILE = ROOT / "docker" / "sandbox.Dockerfile"

# What the downward API gives a pod; any plausible values do.
FIELD_VALUES = {
    "metadata.name": "partner-gateway-5d8f7c9b6-x2x7q",
    "metadata.namespace": "partner-gateway",
}

Document = dict[str, Any]


@dataclass(frozen=True)
class Manifest:
    file: str
    document: Document

    @property
    def kind(self) -> str:
        kind: str = self.document["kind"]
        return kind

    @property
    def name(self) -> str:
        name: str = self.document["metadata"]["name"]
        return name

    @property
    def id(self) -> str:
        return f"{self.file}:{self.kind}/{self.name}"


@dataclass(frozen=True)
class Manifests:
    """Every Kubernetes object in the directory (the kustomization itself excluded)."""

    items: list[Manifest]

    @classmethod
    def load(cls, directory: Path = MANIFESTS) -> Manifests:
        items = []
        for path in sorted(directory.glob("*.yaml")):
            if path.name == KUSTOMIZATION:
                continue
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if document:
                    items.append(Manifest(path.name, document))
        return cls(items)

    def of_kind(self, kind: str) -> list[Document]:
        return [m.document for m in self.items if m.kind == kind]

    def get(self, kind: str, name: str) -> Document:
        found = [d for d in self.of_kind(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name!r}, found {len(found)}"
        return found[0]

    def has(self, kind: str, name: str) -> bool:
        return any(d["metadata"]["name"] == name for d in self.of_kind(kind))


def pod_spec(manifests: Manifests, deployment: str) -> Document:
    spec: Document = manifests.get("Deployment", deployment)["spec"]["template"]["spec"]
    return spec


def container_of(manifests: Manifests, deployment: str) -> Document:
    """The Deployment's one container."""
    containers: list[Document] = pod_spec(manifests, deployment)["containers"]
    [only] = containers
    return only


def pod_labels(manifests: Manifests, deployment: str) -> dict[str, str]:
    template = manifests.get("Deployment", deployment)["spec"]["template"]
    labels: dict[str, str] = template["metadata"]["labels"]
    return labels


def config_file(manifests: Manifests) -> tuple[str, str]:
    """(path inside the pod, content) of the gateway's `--config` file: the ConfigMap key
    mounted there."""
    gateway = container_of(manifests, GATEWAY)
    args = gateway["args"]
    path: str = args[args.index("--config") + 1]
    volumes = {v["name"]: v for v in pod_spec(manifests, GATEWAY)["volumes"]}
    for mount in gateway["volumeMounts"]:
        directory = mount["mountPath"].rstrip("/") + "/"
        if path.startswith(directory):
            config_map = manifests.get("ConfigMap", volumes[mount["name"]]["configMap"]["name"])
            return path, string_data(config_map)[path.removeprefix(directory)]
    raise AssertionError(f"{path} is on no mounted volume")


def load_kustomization(directory: Path = MANIFESTS) -> Document:
    text = (directory / KUSTOMIZATION).read_text(encoding="utf-8")
    loaded: Document = yaml.safe_load(text)
    return loaded


def string_data(secret_or_config_map: Document) -> dict[str, str]:
    """A ConfigMap's or Secret's values as text (`data` of a Secret is base64)."""
    values: dict[str, str] = dict(secret_or_config_map.get("stringData") or {})
    data = secret_or_config_map.get("data") or {}
    if secret_or_config_map["kind"] == "Secret":
        values.update({k: base64.b64decode(v).decode() for k, v in data.items()})
    else:
        values.update(data)
    return values


def image_environment(dockerfile: Path) -> dict[str, str]:
    """The ENV of the Dockerfile's final stage: what a container starts with."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    environment: dict[str, str] = {}
    for line in text.splitlines():
        keyword, _, rest = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            environment = {}
        elif keyword.upper() == "ENV":
            for word in shlex.split(rest):
                name, _, value = word.partition("=")
                environment[name] = value
    return environment


_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def _expand(value: str, known: Mapping[str, str]) -> str:
    # Kubernetes leaves a reference to an undefined variable as it is.
    return _REFERENCE.sub(lambda m: known.get(m.group(1), m.group(0)), value)


def container_environment(
    spec: Document, manifests: Manifests, image_env: Mapping[str, str]
) -> dict[str, str]:
    """The environment a container runs with: image ENV < envFrom < env."""
    environment = dict(image_env)
    for source in spec.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            values = string_data(manifests.get("ConfigMap", source["configMapRef"]["name"]))
        else:
            values = string_data(manifests.get("Secret", source["secretRef"]["name"]))
        environment.update({prefix + k: v for k, v in values.items()})
    for item in spec.get("env", []):
        environment[item["name"]] = _env_value(item, manifests, environment)
    return environment


def _env_value(item: Document, manifests: Manifests, known: Mapping[str, str]) -> str:
    if "value" in item:
        return _expand(str(item["value"]), known)
    source = item["valueFrom"]
    if "fieldRef" in source:
        return FIELD_VALUES[source["fieldRef"]["fieldPath"]]
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return string_data(manifests.get("ConfigMap", ref["name"]))[ref["key"]]
    ref = source["secretKeyRef"]
    return string_data(manifests.get("Secret", ref["name"]))[ref["key"]]


def secret_references(pod: Document) -> Iterator[tuple[str, str | None]]:
    """(Secret name, key) for every Secret a pod uses; key None for a whole Secret."""
    for each in pod["containers"]:
        for item in each.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                yield ref["name"], ref["key"]
        for source in each.get("envFrom", []):
            if "secretRef" in source:
                yield source["secretRef"]["name"], None
    for volume in pod.get("volumes", []):
        secret = volume.get("secret")
        if secret is not None:
            items = secret.get("items") or [{"key": None}]
            for entry in items:
                yield secret["secretName"], entry["key"]


def config_map_references(pod: Document) -> Iterator[tuple[str, str | None]]:
    """(ConfigMap name, key) for every ConfigMap a pod uses; key None for a whole one."""
    for each in pod["containers"]:
        for item in each.get("env", []):
            ref = item.get("valueFrom", {}).get("configMapKeyRef")
            if ref is not None:
                yield ref["name"], ref["key"]
        for source in each.get("envFrom", []):
            if "configMapRef" in source:
                yield source["configMapRef"]["name"], None
    for volume in pod.get("volumes", []):
        config_map = volume.get("configMap")
        if config_map is not None:
            items = config_map.get("items") or [{"key": None}]
            for entry in items:
                yield config_map["name"], entry["key"]


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a label selector (`matchLabels` form, or a Service's plain map) picks `labels`."""
    match = selector.get("matchLabels", selector)
    assert "matchExpressions" not in selector, "only matchLabels is read here"
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def _submodel(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The settings model a field holds (or holds a list of), and whether it is a list."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model, is_list = _submodel(arg)
            if model is not None:
                return model, is_list
        return None, False
    if origin is list:
        model, _ = _submodel(typing.get_args(annotation)[0])
        return model, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def unknown_env_names(names: list[str], model: type[BaseModel], prefix: str) -> list[str]:
    """The `PREFIX...` variables that name no setting (`__` descends into a section)."""
    unknown = []
    for name in names:
        if not name.startswith(prefix):
            continue
        current: type[BaseModel] | None = model
        for part in name.removeprefix(prefix).lower().split("__"):
            field = current.model_fields.get(part) if current is not None else None
            if field is None:
                unknown.append(name)
                break
            current, is_list = _submodel(field.annotation)
            if is_list:
                current = None  # a list is given whole (JSON), never by index
    return unknown


def unknown_keys(data: Mapping[str, Any], model: type[BaseModel], path: str = "") -> list[str]:
    """The keys of a YAML settings document, at any depth, that name no setting."""
    unknown = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            unknown.append(f"{path}{key}")
            continue
        submodel, is_list = _submodel(field.annotation)
        if submodel is None:
            continue
        if is_list:
            for index, item in enumerate(value or []):
                unknown += unknown_keys(item, submodel, f"{path}{key}[{index}].")
        elif isinstance(value, Mapping):
            unknown += unknown_keys(value, submodel, f"{path}{key}.")
    return unknown
