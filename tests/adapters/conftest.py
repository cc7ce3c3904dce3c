"""The session's sandbox partners, fast and fault-free before every adapter test."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_LATENCY_MS
from tests.support import SandboxControl


@pytest.fixture
async def fresh(control: SandboxControl) -> SandboxControl:
    for pid in control.base_urls:
        await control.set_knobs(
            pid, latency_ms=TEST_LATENCY_MS, outage=False, fail_next=[], error_rate=0.0
        )
    await control.clear_ledgers()
    return control
