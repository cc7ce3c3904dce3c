"""A running gateway signs the head of its audit chain into checkpoints, on SQLite and on
PostgreSQL; `partner-gateway audit verify` then finds the newest entries deleted (which a
hash chain alone cannot show)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.audit import public_keys, read_checkpoint
from gateway.auth import load_signing_key
from gateway.client.channels import open_channel
from gateway.runtime import running_gateway
from gateway.settings import AuditSettings, GatewaySettings, StorageSettings
from tests.e2e.booking_support import compose_solution
from tests.gateway.storage.conftest import Database
from tests.gateway.test_audit_chain import cli
from tests.support import partner_tokens

_DROP_GUARDS = {
    "sqlite": ["DROP TRIGGER audit_log_no_delete"],
    "postgres": ["DROP TRIGGER audit_log_append_only ON audit_log"],
}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_deleting_the_newest_entries_of_a_gateway_makes_audit_verify_fail(
    backend: str,
    gateway_settings: GatewaySettings,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    state = tmp_path / "state"
    database = Database("sqlite", path=state / "gateway.sqlite3")
    storage = StorageSettings()
    where = ["--state-dir", str(state)]  # also where the signing key is
    if backend == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        schema = request.getfixturevalue("postgres_schema")
        database = Database("postgres", dsn=dsn, schema=schema)
        storage = StorageSettings(dsn=dsn, pg_schema=schema)
        where += ["--dsn", dsn, "--pg-schema", schema]
    settings = gateway_settings.model_copy(
        update={
            "state_dir": state,
            "storage": storage,
            "audit": AuditSettings(seal_interval_s=0.1, checkpoint_interval_s=0.5),
        }
    )

    async with running_gateway(settings, "127.0.0.1:0") as gateway:
        async with open_channel(gateway.target, tokens=partner_tokens(settings, gateway)) as ch:
            for _ in range(2):
                await compose_solution(ch)  # a consent, quotes, a solution: all audited
        # While it runs, the head is chained and signed within a checkpoint interval or so.
        async with asyncio.timeout(10):
            while (checkpoint := await gateway.store.latest_audit_checkpoint()) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        key = load_signing_key(settings.audit_key_file())
        claims = read_checkpoint(checkpoint, public_keys([key]))
        assert claims is not None
        assert claims.seq > 1
    # Stopping chained and signed what was left: the newest checkpoint names the head.
    code, out, err = await cli(tmp_path, "audit", "verify", *where)
    assert code == 0, out + err
    assert "audit chain intact" in out
    assert "checkpoint(s) match; the newest (signed) names entry" in out
    total = int(out.split("intact: ")[1].split()[0])
    assert f"names entry {total} at" in out

    for statement in _DROP_GUARDS[backend]:
        database.execute(statement)
    database.execute(f"DELETE FROM audit_log WHERE seq > {total - 2}")

    code, out, err = await cli(tmp_path, "audit", "verify", *where)
    assert code == 1, out + err
    assert f"BROKEN at entry {total - 1}: entries missing" in out
    assert f"names entry {total}, the log ends at entry {total - 2}" in out


async def test_the_checkpoint_file_outlives_the_checkpoints_table(
    gateway_settings: GatewaySettings, tmp_path: Path
) -> None:
    """Someone who can delete the newest entries and the checkpoints in the database still
    cannot reach the file kept elsewhere."""
    state = tmp_path / "state"
    elsewhere = tmp_path / "worm" / "audit-checkpoints.jws"
    settings = gateway_settings.model_copy(
        update={"state_dir": state, "audit": AuditSettings(checkpoint_file=elsewhere)}
    )
    async with (
        running_gateway(settings, "127.0.0.1:0") as gateway,
        open_channel(gateway.target, tokens=partner_tokens(settings, gateway)) as channel,
    ):
        await compose_solution(channel)
    assert elsewhere.read_text().count("\n") == 1

    database = Database("sqlite", path=state / "gateway.sqlite3")
    for statement in [
        "DROP TRIGGER audit_log_no_delete",
        "DROP TRIGGER audit_checkpoints_no_delete",
        "DELETE FROM audit_checkpoints",
        "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)",
    ]:
        database.execute(statement)
    config = tmp_path / "audit.yaml"
    config.write_text(f"audit:\n  checkpoint_file: {elsewhere}\n")

    code, out, _ = await cli(tmp_path, "audit", "verify", "--state-dir", str(state))
    assert code == 0  # the table alone no longer shows it...
    code, out, err = await cli(
        tmp_path, "audit", "verify", "--state-dir", str(state), "--config", str(config)
    )
    assert code == 1, out + err  # ...the file does
    assert "entries missing" in out
