"""The async bodies of the audit commands: check the log's hash chain against its signed
checkpoints, show its newest entries. Both read the store directly, so they need no running
gateway, and an auditor can run them against a copy of the database (with the public key
file, or the signing key file, to check the checkpoints' signatures). Entries hold names and
hashes of personal data, never the data, so printing them discloses nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gateway.audit import (
    BadCheckpointError,
    ChainReport,
    last_seq,
    public_keys,
    read_checkpoint_file,
    verify_store,
)
from gateway.cli.render import stdout_console
from gateway.model import AuditCheckpoint, AuditEntry
from gateway.settings import GatewaySettings
from gateway.storage import SQLITE_FILE, PostgresStore, SqliteStore, open_store


def store_label(settings: GatewaySettings) -> str:
    """Where the store is, for people (never the DSN: it may hold a password)."""
    if settings.storage.dsn is None:
        return f"embedded store {settings.state_dir / SQLITE_FILE}"
    return f"PostgreSQL store, schema {settings.storage.pg_schema}"


def missing_store(settings: GatewaySettings) -> str | None:
    """Why there is no store to read, or None. Opening would create an empty one, whose
    intact empty chain would prove nothing about the store meant."""
    path = settings.state_dir / SQLITE_FILE
    if settings.storage.dsn is None and not path.is_file():
        return f"no embedded store at {path} (give --state-dir, or --dsn for PostgreSQL)"
    return None


async def _open(settings: GatewaySettings) -> SqliteStore | PostgresStore:
    return await open_store(
        settings.state_dir, settings.storage.dsn, schema=settings.storage.pg_schema
    )


async def verify(settings: GatewaySettings, *, batch: int, as_json: bool, err: Console) -> bool:
    """Checks the whole chain and prints the verdict; True when it is intact."""
    if not as_json:
        err.print(escape(f"Checking the audit log of the {store_label(settings)}…"))

    def progress(checked: int) -> None:
        err.print(f"  {checked} entries intact so far…")

    key_file = settings.audit_key_file()
    # Read only: a missing key file is not created here (that would "verify" with a new key).
    keys = verification_keys(key_file) if key_file.is_file() else None
    elsewhere: list[AuditCheckpoint] = []
    checkpoint_file = settings.audit.checkpoint_file
    if checkpoint_file is not None and checkpoint_file.is_file():
        try:
            elsewhere = read_checkpoint_file(checkpoint_file)
        except BadCheckpointError as exc:
            err.print(escape(f"Checkpoint file unreadable: {exc}"))
            return False
    if keys is None and not as_json:
        err.print(escape(f"No key file at {key_file}: checkpoint signatures are not checked."))
    store = await _open(settings)
    try:
        report = await verify_store(
            store,
            batch,
            progress=None if as_json else progress,
            keys=keys,
            checkpoints=elsewhere,
        )
    finally:
        await store.aclose()
    if as_json:
        print(json.dumps(report_json(report)))
    else:
        print(report_text(report))
    return report.ok


def verification_keys(path: Path) -> dict[str, ECKey]:
    """The public keys in `path`: the signing key file itself (a private JWK), or a public
    JWK or JWKS (`{"keys": [...]}`) handed to an auditor."""
    document = json.loads(path.read_text(encoding="utf-8"))
    entries = document.get("keys", [document]) if isinstance(document, dict) else []
    keys = [ECKey.import_key(entry) for entry in entries if entry.get("kty") == "EC"]
    return public_keys(keys)


def report_json(report: ChainReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "checked": report.checked,
        "first_bad_seq": report.first_bad_seq,
        "problem": report.problem or None,
        "head_hash": report.head_hash,
        "checkpoints": report.checkpoints,
        "last_checkpoint": None
        if report.last_checkpoint is None
        else {
            "seq": report.last_checkpoint.seq,
            "at": report.last_checkpoint.at.isoformat(timespec="microseconds"),
            "key_id": report.last_checkpoint.key_id,
        },
        "foreign_checkpoints": report.foreign_checkpoints,
        "signatures_checked": report.signatures_checked,
        "unsealed": report.unsealed,
        "oldest_unsealed_at": None
        if report.oldest_unsealed_at is None
        else report.oldest_unsealed_at.isoformat(timespec="microseconds"),
    }


def report_text(report: ChainReport) -> str:
    if not report.ok:
        return (
            f"audit chain BROKEN at entry {report.first_bad_seq}: {report.problem}"
            f" ({report.checked} entries before it are intact)"
        )
    noun = "entry" if report.checked == 1 else "entries"
    lines = [f"audit chain intact: {report.checked} {noun} (head hash {report.head_hash})"]
    last = report.last_checkpoint
    if last is None:
        lines.append("no checkpoint to check it against yet")
    else:
        signed = "signed" if report.signatures_checked else "signature NOT checked"
        lines.append(
            f"{report.checkpoints} checkpoint(s) match; the newest ({signed}) names entry"
            f" {last.seq} at {last.at.isoformat(timespec='seconds')}"
        )
    if report.foreign_checkpoints:
        lines.append(f"{report.foreign_checkpoints} checkpoint(s) by other keys ignored")
    if report.unsealed:
        since = report.oldest_unsealed_at
        when = (
            "" if since is None else f", the oldest written {since.isoformat(timespec='seconds')}"
        )
        lines.append(f"{report.unsealed} record(s) written but not chained yet{when}")
    return "\n".join(lines)


async def list_entries(
    settings: GatewaySettings, *, limit: int, after: int | None, as_json: bool
) -> None:
    """The `limit` newest entries, or the `limit` after seq `after`, oldest first."""
    store = await _open(settings)
    try:
        start = max(0, await last_seq(store) - limit) if after is None else after
        entries = await store.audit_entries(start, limit)
    finally:
        await store.aclose()
    if as_json:
        for entry in entries:
            print(json.dumps(entry_json(entry)))
    elif entries:
        stdout_console().print(entry_table(entries))
    else:
        stdout_console().print("No audit entries there.")


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    r = entry.record
    return {
        "seq": entry.seq,
        "at": entry.at.isoformat(timespec="microseconds"),
        "actor": r.actor,
        "action": r.action,
        "subject": r.subject,
        "outcome": r.outcome,
        "purpose": r.purpose,
        "consent_id": r.consent_id,
        "recipient": r.recipient,
        "fields": list(r.fields),
        "values_hash": r.values_hash,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def entry_table(entries: list[AuditEntry]) -> Table:
    table = Table(title="Audit log")
    table.add_column("seq", justify="right")
    for column in ("at (UTC)", "actor", "action", "subject", "outcome", "recipient"):
        table.add_column(column)
    table.add_column("fields")
    table.add_column("hash")
    for entry in entries:
        r = entry.record
        table.add_row(
            str(entry.seq),
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            escape(r.actor),
            escape(r.action),
            escape(r.subject) or "—",
            escape(r.outcome),
            escape(r.recipient) or "—",
            escape(", ".join(r.fields)) or "—",
            f"{entry.hash[:12]}…",
        )
    return table
