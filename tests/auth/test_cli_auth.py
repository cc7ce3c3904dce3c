"""The command line when the gateway requires tokens: it obtains one for the partner it acts as,
from the issuer, with that partner's secret from the settings."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from gateway.runtime import RunningGateway
from tests.auth.conftest import secret_of


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


async def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """The CLI in a child process; async, so the gateway in this event loop keeps serving."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(120):
        out, err = await process.communicate()
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def client_config(gateway: RunningGateway, path: Path) -> Path:
    """The settings a partner's operator would give the CLI: the issuer and its own secret."""
    settings = {
        "auth": {
            "required": True,
            "issuer": {
                "enabled": True,
                "url": gateway.issuer_url,
                "clients": [
                    {"client_id": pid, "client_secret": secret_of(pid)}
                    for pid in ("airline-a", "telecom-cn")
                ],
            },
        }
    }
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


async def test_client_commands_act_with_the_partners_token(
    auth_gateway: RunningGateway, tmp_path: Path
) -> None:
    config = str(client_config(auth_gateway, tmp_path / "cli.yaml"))
    target = auth_gateway.target
    trip = ["--destination", "JP", "--depart", "2027-01-10", "--return", "2027-01-17"]

    composed = await run(
        "compose",
        "--entry",
        "flight",
        *trip,
        "--target",
        target,
        "--json",
        "--config",
        config,
        cwd=tmp_path,
    )
    assert composed.returncode == 0, composed.stderr
    solution = json.loads(composed.stdout)
    assert solution["entry"] == "flight"

    listed = await run(
        "orders",
        "--partner",
        "airline-a",
        "--target",
        target,
        "--json",
        "--config",
        config,
        cwd=tmp_path,
    )
    assert listed.returncode == 0, listed.stderr

    # Which partner books must be said: the token is that partner's.
    unnamed = await run(
        "book", solution["solution_id"], "--target", target, "--config", config, cwd=tmp_path
    )
    assert unnamed.returncode == 2
    assert "--partner" in unnamed.stderr

    # Without the settings the CLI sends no token, as before, and the gateway refuses.
    anonymous = await run("compose", "--entry", "flight", *trip, "--target", target, cwd=tmp_path)
    assert anonymous.returncode == 2
    assert "UNAUTHENTICATED" in anonymous.stderr

    # A partner whose secret the settings lack cannot be acted as.
    no_secret = await run(
        "orders", "--partner", "car-a", "--target", target, "--config", config, cwd=tmp_path
    )
    assert no_secret.returncode == 2
    assert "no client secret for car-a" in no_secret.stderr


async def test_the_demo_runs_with_tokens_from_the_embedded_issuer(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PSG_")},
        "PSG_AUTH__REQUIRED": "true",
        "PSG_AUTH__ISSUER__ENABLED": "true",
        "PSG_AUTH__ISSUER__ADDRESS": "127.0.0.1:0",
    }
    result = await run("demo", "--once", "--json", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    solutions = [p for p in printed if "fingerprint" in p]
    orders = [p for p in printed if "order_id" in p and "components" in p]
    kpis = [p for p in printed if "take_up" in p]
    assert len(solutions) == 4
    assert len({s["fingerprint"] for s in solutions}) == 1
    assert orders[0]["state"] == "confirmed"
    # Authenticated, the booking partner sees its own KPIs only.
    assert [k["entry_partner"] for k in kpis] == ["telecom-cn"]
