"""What recording consent and writing audit records cost a composition, on the store itself.

    .venv/bin/python -m bench.record_costs [--count 300] [--concurrency 1,16]

The gateway has no switch that composes without them, by design: a request without consent
asks no partner at all (every component comes back "consent required"), and every
composition's audit records are written in the transaction that saves its solution. So they
cannot be measured as rows of the gateway. This measures them in a process of its own, on
the embedded store (SQLite in a temporary directory, as the reference gateway runs), with
the gateway's own functions:

- `solution`: `save_solution` of a solution body with its request id, without audit records;
- `solution + audit`: the same, plus building and appending the records a composition
  writes (one per partner asked, with the quote body sent as the disclosed values, and the
  composition's own): the difference is the audit's share;
- `consent`: `consent_record` of the sample consent and `save_consent` with its audit record,
  which the gateway does before asking any partner (checking the consent is not included).

Each `count` times, `concurrency` at once (1: each write its own transaction; more: writes
queued together share a commit, as under load). CPU is this whole process's (SQLite works in
a thread). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.processes import ENTRY_PARTNER
from bench.stubs import load_fixtures
from gateway.client.journeys import full_consent
from gateway.model import AuditRecord, ConsentRecord
from gateway.privacy import consent_record, disclosure_record
from gateway.storage import SqliteStore

_BODY_BYTES = 6000  # about a composed solution; the same in both arms
_COMPOSE = "rpc:SolutionService/ComposeSolution"  # the action gateway.composition.service audits


def composition_audit(
    solution_id: str, quotes: Mapping[str, Mapping[str, Any]], consent: ConsentRecord
) -> list[AuditRecord]:
    """The records a composition writes: one per partner asked, then its own."""
    asked = [
        disclosure_record(
            actor=ENTRY_PARTNER,
            action="partner:quote",
            subject=solution_id,
            recipient=pid,
            consent=consent,
            values=dict(body),
            field_names=[f"{pid}.{name}" for name in sorted(body)],
            outcome="sent",
        )
        for pid, body in sorted(quotes.items())
    ]
    own = AuditRecord(
        actor=ENTRY_PARTNER,
        action=_COMPOSE,
        subject=solution_id,
        outcome="ok",
        purpose=consent.purpose,
        consent_id=consent.consent_id,
    )
    return [*asked, own]


async def _cpu_ms_each(
    one: Callable[[], Awaitable[None]], count: int, concurrency: int
) -> tuple[float, float]:
    """CPU and wall time per call of `one`, `count` calls, `concurrency` at once."""
    gate = asyncio.Semaphore(concurrency)

    async def gated() -> None:
        async with gate:
            await one()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(gated() for _ in range(count)))
    return (
        (time.process_time() - cpu) / count * 1000,
        (time.perf_counter() - wall) / count * 1000,
    )


async def measure(count: int, concurrency: int, directory: Path) -> dict[str, Any]:
    quotes = {pid: f["request"] for pid, f in load_fixtures()["partners"].items()}
    body = os.urandom(_BODY_BYTES)
    consent = full_consent()
    given = consent_record(consent, ENTRY_PARTNER, datetime.now(UTC))
    store = await SqliteStore.open(directory / f"records-{concurrency}.sqlite3")
    try:

        async def solution(audited: bool) -> None:
            solution_id = f"sol_{uuid.uuid4().hex}"
            audit = composition_audit(solution_id, quotes, given) if audited else ()
            await store.save_solution(
                solution_id,
                ENTRY_PARTNER,
                uuid.uuid4().hex,
                body,
                (uuid.uuid4().hex, uuid.uuid4().hex),
                recipe="travel-abroad@1",
                audit=audit,
            )

        async def recorded_consent() -> None:
            record = consent_record(consent, ENTRY_PARTNER, datetime.now(UTC))
            own = AuditRecord(
                actor=ENTRY_PARTNER,
                action=_COMPOSE,
                subject=record.consent_id,
                outcome="consent_recorded",
                purpose=record.purpose,
                consent_id=record.consent_id,
            )
            await store.save_consent(record, audit=[own])

        await _cpu_ms_each(lambda: solution(True), min(count, 50), concurrency)  # warm-up
        plain = await _cpu_ms_each(lambda: solution(False), count, concurrency)
        audited = await _cpu_ms_each(lambda: solution(True), count, concurrency)
        consents = await _cpu_ms_each(recorded_consent, count, concurrency)
    finally:
        await store.aclose()
    return {
        "concurrency": concurrency,
        "count": count,
        "audit_records_per_composition": len(quotes) + 1,
        "solution_cpu_ms": round(plain[0], 3),
        "solution_audited_cpu_ms": round(audited[0], 3),
        "audit_cpu_ms": round(audited[0] - plain[0], 3),
        "consent_cpu_ms": round(consents[0], 3),
        "solution_wall_ms": round(plain[1], 3),
        "solution_audited_wall_ms": round(audited[1], 3),
        "consent_wall_ms": round(consents[1], 3),
    }


async def main(count: int, levels: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="psg-bench-records-") as directory:
        rows = [await measure(count, level, Path(directory)) for level in levels]
    print(json.dumps({"store": "sqlite", "rows": rows}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300, help="writes per arm")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated")
    args = parser.parse_args()
    asyncio.run(main(args.count, [int(c) for c in args.concurrency.split(",") if c]))
