"""Helpers shared by the tests: talking to sandbox partners' control endpoints over HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import grpc
import httpx2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

if TYPE_CHECKING:
    # Only the type stubs know the async flavour; at run time it is the same stub class.
    from partnergateway.v1.solution_service_pb2_grpc import SolutionServiceAsyncStub

    Stub = SolutionServiceAsyncStub
else:
    Stub = Any


class SandboxControl:
    """Reads ledgers and turns knobs of running sandbox partners, over real HTTP."""

    def __init__(self, base_urls: Mapping[str, str]) -> None:
        self.base_urls = dict(base_urls)
        self._http = httpx2.AsyncClient(timeout=10, trust_env=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def ledger(
        self, partner_id: str, operation: str | None = None, *, since: str = ""
    ) -> list[dict[str, Any]]:
        """Entries of `operation`; with `since` (from `now()`), only requests that arrived
        after it — a slow request of an earlier test is recorded only when it ends."""
        response = await self._http.get(f"{self.base_urls[partner_id]}/_sandbox/ledger")
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()["entries"]
        return [
            e
            for e in entries
            if (operation is None or e["operation"] == operation) and e["at"] >= since
        ]

    @staticmethod
    def now() -> str:
        """The current time as the ledger writes it (RFC 3339, milliseconds, Z)."""
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    async def clear_ledgers(self) -> None:
        for url in self.base_urls.values():
            (await self._http.delete(f"{url}/_sandbox/ledger")).raise_for_status()

    async def knobs(self, partner_id: str) -> dict[str, Any]:
        response = await self._http.get(f"{self.base_urls[partner_id]}/_sandbox/knobs")
        response.raise_for_status()
        knobs: dict[str, Any] = response.json()
        return knobs

    async def set_knobs(self, partner_id: str, **knobs: Any) -> dict[str, Any]:
        response = await self._http.patch(
            f"{self.base_urls[partner_id]}/_sandbox/knobs", json=knobs
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def count(self, partner_id: str, operation: str, *, since: str = "") -> int:
        return len(await self.ledger(partner_id, operation, since=since))


def rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    status: status_pb2.Status | None = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "the error carries no google.rpc.Status"
    return status


def error_info(status: status_pb2.Status) -> error_details_pb2.ErrorInfo:
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError("no ErrorInfo in status")


def violated_fields(status: status_pb2.Status) -> set[str]:
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            return {v.field for v in bad.field_violations}
    return set()
