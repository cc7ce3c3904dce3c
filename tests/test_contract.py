"""The contract in proto/ is the single source of truth: lint-clean, generated code fresh,
and every RPC served."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gateway.booking import OrderService
from gateway.feedback import FeedbackService
from gateway.privacy.service import ConsentService
from gateway.service import SolutionService
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
