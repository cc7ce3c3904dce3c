"""The audit log's hash chain: how entries are hashed, what `verify` finds, and the
`partner-gateway audit` commands on an intact and on a tampered embedded store."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from gateway.audit import (
    GENESIS_HASH,
    entry_hash,
    last_seq,
    values_hash,
    verify,
    verify_store,
)
from gateway.storage import AuditEntry, AuditRecord, SqliteStore

T0 = datetime(2030, 5, 1, 9, 30, 0, 250000, tzinfo=UTC)


def a_record(n: int) -> AuditRecord:
    return AuditRecord(
        actor="telecom-cn",
        action="partner:hold",
        subject=f"ord-{n}",
        outcome="held",
        purpose="travel_abroad",
        consent_id="c-1",
        recipient="airline-a",
        fields=("travellers[0].given_name",),
        values_hash=values_hash({"given_name": f"Zoë {n}"}),
    )


def a_chain(count: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        at = T0 + timedelta(seconds=seq)
        record = a_record(seq)
        digest = entry_hash(prev, seq, at, record)
        entries.append(AuditEntry(seq=seq, at=at, record=record, prev_hash=prev, hash=digest))
        prev = digest
    return entries


def rehashed(entry: AuditEntry, **changes: object) -> AuditEntry:
    """An entry changed and given a hash that matches its new content, as a forger would."""
    record = replace(entry.record, **changes)  # type: ignore[arg-type]
    return replace(
        entry, record=record, hash=entry_hash(entry.prev_hash, entry.seq, entry.at, record)
    )


# --- hashing -------------------------------------------------------------------------------


def test_an_entry_hash_is_sha256_over_the_previous_hash_and_canonical_json() -> None:
    record = AuditRecord("telecom-cn", "rpc:ConsentService/GiveConsent", "c-1", "ok")
    at = datetime(2030, 5, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))  # 09:30 UTC

    expected = hashlib.sha256(
        (
            GENESIS_HASH + '{"action":"rpc:ConsentService/GiveConsent","actor":"telecom-cn",'
            '"at":"2030-05-01T09:30:00.000000+00:00","consent_id":"","fields":[],'
            '"outcome":"ok","purpose":"","recipient":"","seq":1,"subject":"c-1",'
            '"values_hash":""}'
        ).encode()
    ).hexdigest()

    assert entry_hash(GENESIS_HASH, 1, at, record) == expected
    assert entry_hash(GENESIS_HASH, 2, at, record) != expected
    assert entry_hash("1" * 64, 1, at, record) != expected
    with pytest.raises(ValueError, match="naive"):
        entry_hash(GENESIS_HASH, 1, datetime(2030, 5, 1), record)


def test_values_hash_is_canonical() -> None:
    one = values_hash({"given_name": "Zoë", "passport": {"number": "X1", "expiry": None}})
    same = values_hash({"passport": {"expiry": None, "number": "X1"}, "given_name": "Zoë"})

    assert one == same
    assert (
        one
        == hashlib.sha256(
            b'{"given_name":"Zo\\u00eb","passport":{"expiry":null,"number":"X1"}}'
        ).hexdigest()
    )
    assert values_hash({"given_name": "Zoe"}) != values_hash({"given_name": "Zoë"})
    with pytest.raises(TypeError):
        values_hash({"when": T0})  # JSON values only: the caller decides how a date reads


# --- verify --------------------------------------------------------------------------------


def test_an_intact_chain_verifies() -> None:
    entries = a_chain(5)

    report = verify(entries)

    assert (report.ok, report.checked, report.first_bad_seq, report.problem) == (True, 5, None, "")
    assert report.head_hash == entries[-1].hash
    assert verify([]) == verify(iter([]))
    assert (verify([]).ok, verify([]).checked, verify([]).head_hash) == (True, 0, GENESIS_HASH)


def tampered(how: str, chain: list[AuditEntry]) -> list[AuditEntry]:
    """`chain` after one kind of tampering with its third entry (or nearby)."""
    c = list(chain)
    match how:
        case "outcome":
            c[2] = replace(c[2], record=replace(c[2].record, outcome="refused"))
        case "values-hash":
            c[2] = replace(c[2], record=replace(c[2].record, values_hash=""))
        case "time":
            c[2] = replace(c[2], at=c[2].at + timedelta(microseconds=1))
        case "forged-hash":  # content and hash changed together: the next link breaks
            c[2] = rehashed(c[2], recipient="insurer-b")
        case "removed":
            del c[2]
        case "reordered":
            c[2], c[3] = c[3], c[2]
        case "first-removed":
            del c[0]
        case "genesis":
            c[0] = replace(c[0], prev_hash="f" * 64)
    return c


@pytest.mark.parametrize(
    ("how", "bad_seq", "problem"),
    [
        ("outcome", 3, "hash does not match its content"),
        ("values-hash", 3, "hash does not match its content"),
        ("time", 3, "hash does not match its content"),
        ("forged-hash", 4, "does not link to entry 3"),
        ("removed", 3, "entry missing (the log goes on at entry 4)"),
        ("reordered", 3, "entry missing (the log goes on at entry 4)"),
        ("first-removed", 1, "entry missing (the log goes on at entry 2)"),
        ("genesis", 1, "does not link to the genesis hash"),
    ],
)
def test_verify_reports_the_first_bad_entry(how: str, bad_seq: int, problem: str) -> None:
    report = verify(tampered(how, a_chain(6)))

    assert not report.ok
    assert (report.first_bad_seq, report.problem) == (bad_seq, problem)
    assert report.checked == bad_seq - 1


def test_a_rewrite_rehashed_to_the_end_shows_only_in_a_head_hash_kept_elsewhere() -> None:
    entries = a_chain(4)
    kept = verify(entries).head_hash
    forged = [*entries[:2], rehashed(entries[2], outcome="refused")]
    forged.append(rehashed(replace(entries[3], prev_hash=forged[2].hash)))

    report = verify(forged)

    assert report.ok
    assert report.head_hash != kept


class ListStore:
    """An `AuditStore` over a list, counting its reads."""

    def __init__(self, entries: list[AuditEntry]) -> None:
        self.entries = entries
        self.reads = 0

    async def append_audit(self, records: object) -> None:
        raise NotImplementedError

    async def audit_entries(self, after_seq: int, limit: int) -> list[AuditEntry]:
        self.reads += 1
        return [e for e in self.entries if e.seq > after_seq][:limit]


async def test_verify_store_pages_through_the_log_and_reports_progress() -> None:
    store = ListStore(a_chain(10))
    seen: list[int] = []

    report = await verify_store(store, batch=4, progress=seen.append)

    assert (report.ok, report.checked) == (True, 10)
    assert seen == [4, 8, 10]
    store.entries[5] = replace(store.entries[5], hash="0" * 64)
    broken = await verify_store(store, batch=4)
    assert (broken.ok, broken.first_bad_seq, broken.checked) == (False, 6, 5)
    with pytest.raises(ValueError, match="batch"):
        await verify_store(store, batch=0)


@pytest.mark.parametrize("count", [0, 1, 2, 3, 7, 8, 9, 1000])
async def test_last_seq_finds_the_newest_entry_in_few_reads(count: int) -> None:
    store = ListStore(a_chain(count))

    assert await last_seq(store) == count
    assert store.reads <= 2 * (count.bit_length() + 1) + 1


# --- the command line ----------------------------------------------------------------------


async def cli(cwd: Path, *args: str) -> tuple[int, str, str]:
    """`partner-gateway`, with no PSG_* settings from the test's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSG_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**env, "COLUMNS": "200"},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def state_dir(tmp_path: Path) -> Path:
    """An embedded store holding 30 audit entries."""
    store = await SqliteStore.open(tmp_path / "state" / "gateway.sqlite3")
    try:
        for n in range(0, 30, 10):
            await store.append_audit([a_record(n + i) for i in range(10)])
    finally:
        await store.aclose()
    return tmp_path / "state"


async def test_audit_verify_on_an_intact_store(state_dir: Path, tmp_path: Path) -> None:
    code, out, err = await cli(tmp_path, "audit", "verify", "--state-dir", str(state_dir))
    assert code == 0, err
    assert "audit chain intact: 30 entries" in out
    assert "Checking the audit log" in err

    code, out, err = await cli(
        tmp_path, "audit", "verify", "--state-dir", str(state_dir), "--json", "--batch", "7"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True
    assert (report["checked"], report["first_bad_seq"], report["problem"]) == (30, None, None)
    assert len(report["head_hash"]) == 64


async def test_audit_verify_on_a_tampered_store(state_dir: Path, tmp_path: Path) -> None:
    db = sqlite3.connect(state_dir / "gateway.sqlite3", isolation_level=None)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE audit_log SET outcome = 'refused' WHERE seq = 17")
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET outcome = 'refused' WHERE seq = 17")
    finally:
        db.close()

    code, out, err = await cli(tmp_path, "audit", "verify", "--state-dir", str(state_dir))
    assert code == 1, err
    assert "audit chain BROKEN at entry 17: hash does not match its content" in out

    code, out, _ = await cli(tmp_path, "audit", "verify", "--state-dir", str(state_dir), "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["ok"], report["first_bad_seq"], report["checked"]) == (False, 17, 16)


async def test_audit_verify_refuses_a_store_that_is_not_there(tmp_path: Path) -> None:
    code, _, err = await cli(tmp_path, "audit", "verify", "--state-dir", str(tmp_path / "none"))
    assert code == 2
    assert "no embedded store" in err
    assert not (tmp_path / "none").exists()


async def test_audit_list_shows_the_newest_entries(state_dir: Path, tmp_path: Path) -> None:
    code, out, err = await cli(
        tmp_path, "audit", "list", "--state-dir", str(state_dir), "--limit", "3", "--json"
    )
    assert code == 0, err
    shown = [json.loads(line) for line in out.splitlines()]
    assert [e["seq"] for e in shown] == [28, 29, 30]
    assert shown[0]["fields"] == ["travellers[0].given_name"]
    assert shown[1]["prev_hash"] == shown[0]["hash"]
    assert "Zoë" not in out  # names and hashes only

    code, out, err = await cli(
        tmp_path, "audit", "list", "--state-dir", str(state_dir), "--after", "5", "--limit", "2"
    )
    assert code == 0, err
    assert "ord-5 " in out  # entries 6 and 7 hold orders 5 and 6
    assert "ord-6 " in out
    assert "ord-7 " not in out
    assert "travellers[0].given_name" in out
