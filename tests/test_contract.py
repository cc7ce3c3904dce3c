"""The contract in proto/ is the single source of truth: lint-clean, generated code fresh,
and every RPC served."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from google.api.annotations_pb2 import http as http_rule
from google.protobuf import descriptor_pb2

from gateway.booking import OrderService
from gateway.composition.service import SolutionService
from gateway.feedback import FeedbackService
from gateway.privacy.service import ConsentService
from partnergateway.v1 import (
    consent_service_pb2,
    feedback_service_pb2,
    order_service_pb2,
    solution_service_pb2,
)
from tools import protogen

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("descriptor", "servicer"),
    [
        (solution_service_pb2.DESCRIPTOR.services_by_name["SolutionService"], SolutionService),
        (order_service_pb2.DESCRIPTOR.services_by_name["OrderService"], OrderService),
        (feedback_service_pb2.DESCRIPTOR.services_by_name["FeedbackService"], FeedbackService),
        (consent_service_pb2.DESCRIPTOR.services_by_name["ConsentService"], ConsentService),
    ],
)
def test_every_rpc_has_a_handler_and_every_handler_an_rpc(descriptor: Any, servicer: type) -> None:
    rpcs = {method.name for method in descriptor.methods}
    handlers = {
        name for name in vars(servicer) if name[:1].isupper() and callable(getattr(servicer, name))
    }
    assert rpcs == handlers


def test_generated_code_matches_the_proto_files(tmp_path: Path) -> None:
    for generated in protogen.generate(tmp_path):
        committed = protogen.PACKAGE_DIR / generated.name
        assert committed.exists(), f"{committed} is missing: run `make proto`"
        assert committed.read_bytes() == generated.read_bytes(), (
            f"{committed.name} is stale: run `make proto`"
        )


def test_descriptor_set_matches_the_proto_files(tmp_path: Path) -> None:
    """Envoy transcodes JSON with the committed descriptor set: it must be today's contract,
    and carry the error detail types a JSON error body spells out."""
    fresh = protogen.generate_descriptor_set(tmp_path / "descriptor_set.binpb")
    committed = protogen.DESCRIPTOR_SET
    assert committed.exists(), f"{committed} is missing: run `make proto`"
    assert committed.read_bytes() == fresh.read_bytes(), (
        f"{committed.name} is stale: run `make proto`"
    )
    files = {f.name for f in descriptor_pb2.FileDescriptorSet.FromString(fresh.read_bytes()).file}
    assert {"google/rpc/error_details.proto", "google/rpc/status.proto"} <= files
    assert {"partnergateway/v1/solution_service.proto", "google/api/annotations.proto"} <= files


def test_every_rpc_has_an_http_rule() -> None:
    """Browsers reach every RPC as JSON through Envoy (docs/front-ends.md): AIP-127 paths."""
    for module in (
        solution_service_pb2,
        order_service_pb2,
        feedback_service_pb2,
        consent_service_pb2,
    ):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                rule = method.GetOptions().Extensions[http_rule]
                pattern = getattr(rule, rule.WhichOneof("pattern") or "get")
                assert pattern.startswith("/v1/"), f"{method.full_name} has no google.api.http"


def test_buf_lint_passes() -> None:
    buf = ROOT / "node_modules" / ".bin" / "buf"
    if not buf.exists():
        if os.environ.get("CI"):
            pytest.fail("buf is not installed; `make test` installs it with npm")
        pytest.skip("buf not installed (run `make install`)")
    result = subprocess.run(
        [str(buf), "lint"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert shutil.which("node") is not None
