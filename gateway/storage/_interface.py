"""What the gateway keeps: solutions, and the requests that created them (AIP-155)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.model import AuditRecord, StoredRequest


class SolutionStore(Protocol):
    async def save_solution(
        self,
        solution_id: str,
        owner: str,
        fingerprint: str,
        body: bytes,
        request: tuple[str, str] | None,
        *,
        recipe: str = "",
        audit: Sequence[AuditRecord] = (),
    ) -> StoredRequest | None:
        """Saves a solution, and with it `(request_id, request_hash)` if given, atomically.
        `recipe` ("name@version", from the body) is kept beside it for the customer KPIs.
        `audit` is appended to the audit log in the same transaction.

        When that request id is already taken for `owner`, nothing is saved (nor audited) and
        the earlier request is returned, so a concurrent replay resolves to the first solution.
        """
        ...

    async def find_request(self, owner: str, request_id: str) -> StoredRequest | None: ...

    async def load_solution(self, solution_id: str) -> bytes | None: ...

    async def aclose(self) -> None: ...
