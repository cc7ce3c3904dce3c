"""The audit log's hash chain: how entries are hashed, what `verify` finds, and the
`partner-gateway audit` commands on an intact and on a tampered embedded store."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from gateway.audit import (
    GENESIS_HASH,
    AuditSealer,
    BadCheckpointError,
    entry_hash,
    last_seq,
    public_keys,
    read_checkpoint,
    read_checkpoint_file,
    sign_checkpoint,
    values_hash,
    verify,
    verify_store,
)
from gateway.audit._checkpoint import CHECKPOINT_TYPE
from gateway.auth import load_signing_key
from gateway.model import AuditBacklog, AuditCheckpoint, AuditEntry, AuditRecord
from gateway.storage import SqliteStore

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
    """An `AuditStore` over lists (entries, checkpoints), counting its reads of entries."""

    def __init__(self, entries: list[AuditEntry]) -> None:
        self.entries = entries
        self.checkpoints: list[AuditCheckpoint] = []
        self.reads = 0

    async def append_audit(self, records: Sequence[AuditRecord]) -> None:
        raise NotImplementedError

    async def audit_entries(self, after_seq: int, limit: int) -> list[AuditEntry]:
        self.reads += 1
        return [e for e in self.entries if e.seq > after_seq][:limit]

    async def audit_head(self) -> AuditEntry | None:
        return self.entries[-1] if self.entries else None

    async def seal_audit(self, limit: int = 1000) -> int:
        return 0

    async def audit_backlog(self) -> AuditBacklog:
        return AuditBacklog(0)

    async def save_audit_checkpoint(self, checkpoint: AuditCheckpoint) -> None:
        if all(c.seq != checkpoint.seq for c in self.checkpoints):
            self.checkpoints.append(checkpoint)

    async def audit_checkpoints(self, after_seq: int, limit: int) -> list[AuditCheckpoint]:
        found = sorted((c for c in self.checkpoints if c.seq > after_seq), key=lambda c: c.seq)
        return found[:limit]

    async def latest_audit_checkpoint(self) -> AuditCheckpoint | None:
        return max(self.checkpoints, key=lambda c: c.seq, default=None)


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


# --- checkpoints: the head, signed, kept apart ---------------------------------------------

KEY = ECKey.generate_key("P-256", private=True, auto_kid=True)
OTHER_KEY = ECKey.generate_key("P-256", private=True, auto_kid=True)


def checkpointed(entries: list[AuditEntry], *seqs: int, key: ECKey = KEY) -> ListStore:
    store = ListStore(entries)
    for seq in seqs:
        head = entries[seq - 1]
        store.checkpoints.append(sign_checkpoint(key, seq, head.hash, T0 + timedelta(hours=seq)))
    return store


async def test_a_chain_matching_its_checkpoints_is_intact() -> None:
    store = checkpointed(a_chain(10), 4, 10)

    report = await verify_store(store, batch=3, keys=public_keys([KEY]))

    assert (report.ok, report.checked, report.checkpoints) == (True, 10, 2)
    assert report.last_checkpoint is not None
    assert (report.last_checkpoint.seq, report.last_checkpoint.key_id) == (10, KEY.kid)
    assert report.signatures_checked


@pytest.mark.parametrize("cut", [1, 2, 5])
async def test_losing_the_newest_entries_is_found_against_the_checkpoint(cut: int) -> None:
    """The remaining entries form a valid chain: only the checkpoint shows the loss."""
    store = checkpointed(a_chain(10), 5, 10)
    del store.entries[-cut:]
    assert verify(store.entries).ok

    report = await verify_store(store, batch=4, keys=public_keys([KEY]))

    assert not report.ok
    assert report.first_bad_seq == 11 - cut
    assert f"names entry 10, the log ends at entry {10 - cut}" in report.problem
    assert report.checkpoints == 1  # the one of entry 5 still matched


async def test_a_rewritten_and_rehashed_chain_differs_from_its_checkpoint() -> None:
    forged = a_chain(6)
    prev = forged[2].hash
    for i in range(3, 6):  # entry 4 changed, it and every later one re-hashed
        record = replace(forged[i].record, outcome="refused") if i == 3 else forged[i].record
        digest = entry_hash(prev, i + 1, forged[i].at, record)
        forged[i] = replace(forged[i], record=record, prev_hash=prev, hash=digest)
        prev = digest
    honest = a_chain(6)
    store = ListStore(forged)
    store.checkpoints.append(sign_checkpoint(KEY, 5, honest[4].hash, T0))

    report = await verify_store(store, keys=public_keys([KEY]))

    assert verify(forged).ok
    assert (report.ok, report.first_bad_seq, report.checked) == (False, 5, 4)
    assert "differs from the checkpoint" in report.problem


async def test_checkpoints_by_other_keys_prove_nothing_and_forged_ones_fail() -> None:
    foreign = checkpointed(a_chain(7), 7, key=OTHER_KEY)
    del foreign.entries[-2:]  # the foreign checkpoint names an entry no longer there
    report = await verify_store(foreign, keys=public_keys([KEY]))
    assert (report.ok, report.foreign_checkpoints, report.checkpoints) == (True, 1, 0)

    store = checkpointed(a_chain(5), 3)
    genuine = store.checkpoints[0]
    header, payload, _ = genuine.jws.split(".")
    other = jws.serialize_compact(
        {"alg": "ES256", "kid": KEY.kid, "typ": CHECKPOINT_TYPE}, b'{"x":1}', OTHER_KEY
    )
    store.checkpoints[0] = replace(genuine, jws=f"{header}.{payload}.{other.split('.')[2]}")
    report = await verify_store(store, keys=public_keys([KEY]))
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "signature does not verify" in report.problem

    moved = replace(genuine, seq=2)  # the columns say one thing, the signature another
    with pytest.raises(BadCheckpointError, match="columns differ"):
        read_checkpoint(moved, public_keys([KEY]))


async def test_without_a_key_checkpoints_are_compared_but_not_trusted_blindly() -> None:
    store = checkpointed(a_chain(8), 8)
    del store.entries[-1]

    report = await verify_store(store)

    assert not report.ok
    assert not report.signatures_checked
    assert "entries missing" in report.problem


async def test_the_sealer_checkpoints_a_moved_head_once_and_into_its_file(
    tmp_path: Path,
) -> None:
    store = ListStore(a_chain(3))
    sealer = AuditSealer(store, KEY, checkpoint_file=tmp_path / "cp" / "audit.jws")

    first = await sealer.checkpoint()
    assert await sealer.checkpoint() is None  # the head has not moved
    store.entries = a_chain(5)
    assert await sealer.checkpoint(due_only=True) is None  # moved, but not due yet
    second = await sealer.checkpoint()

    assert first is not None
    assert second is not None
    assert [c.seq for c in store.checkpoints] == [3, 5]
    assert read_checkpoint_file(tmp_path / "cp" / "audit.jws") == [first, second]
    claims = read_checkpoint(second, public_keys([KEY]))
    assert claims is not None
    assert (claims.seq, claims.hash) == (5, store.entries[-1].hash)
    report = await verify_store(
        ListStore(store.entries[:4]), keys=public_keys([KEY]), checkpoints=[second]
    )
    assert "entries missing" in report.problem


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


async def test_audit_verify_finds_the_newest_entries_deleted_by_their_checkpoint(
    state_dir: Path, tmp_path: Path
) -> None:
    """As a gateway leaves it: its head signed with the key file `audit verify` reads too."""
    store = await SqliteStore.open(state_dir / "gateway.sqlite3")
    try:
        key = load_signing_key(state_dir / "audit-signing-key.json")
        await AuditSealer(store, key).checkpoint()
    finally:
        await store.aclose()
    code, out, err = await cli(tmp_path, "audit", "verify", "--state-dir", str(state_dir))
    assert code == 0, err
    assert "1 checkpoint(s) match; the newest (signed) names entry 30" in out

    db = sqlite3.connect(state_dir / "gateway.sqlite3", isolation_level=None)
    try:
        db.execute("DROP TRIGGER audit_log_no_delete")
        db.execute("DELETE FROM audit_log WHERE seq > 27")
    finally:
        db.close()

    code, out, err = await cli(tmp_path, "audit", "verify", "--state-dir", str(state_dir))
    assert code == 1, err
    assert "audit chain BROKEN at entry 28: entries missing" in out
    assert "names entry 30, the log ends at entry 27" in out


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
