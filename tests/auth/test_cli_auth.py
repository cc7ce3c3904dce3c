"""The command line when the gateway requires tokens (the default): it obtains one for the
partner it acts as, from the issuer, with that partner's secret from the settings; and with
authentication explicitly off, it sends none."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from gateway.runtime import RunningGateway
from tests.support import secret_of


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
            "issuer": {
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

    # Which partner books must be said: the token is that partner's. (A command line that
    # composed the solution remembers it under its state directory: this one did not.)
    elsewhere = {**os.environ, "PSG_STATE_DIR": str(tmp_path / "another-command-line")}
    unnamed = await run(
        "book",
        solution["solution_id"],
        "--target",
        target,
        "--config",
        config,
        cwd=tmp_path,
        env=elsewhere,
    )
    assert unnamed.returncode == 2
    assert "--partner" in unnamed.stderr

    # With authentication off in its settings, the CLI sends no token: the gateway refuses.
    env = {**os.environ, "PSG_AUTH__REQUIRED": "false"}
    anonymous = await run(
        "compose", "--entry", "flight", *trip, "--target", target, cwd=tmp_path, env=env
    )
    assert anonymous.returncode == 2
    assert "UNAUTHENTICATED" in anonymous.stderr

    # An issuer that is not there is said plainly, without a traceback.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{sock.getsockname()[1]}"
    env = {**os.environ, "PSG_AUTH__ISSUER__URL": nowhere, "COLUMNS": "400"}  # one line
    unreachable = await run(
        "compose", "--entry", "flight", *trip, "--target", target, cwd=tmp_path, env=env
    )
    assert unreachable.returncode == 2
    assert f"cannot get a token for airline-a from {nowhere}/oauth/token" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr

    # A partner whose secret the settings lack cannot be acted as.
    no_secret = await run(
        "orders", "--partner", "car-a", "--target", target, "--config", config, cwd=tmp_path
    )
    assert no_secret.returncode == 2
    assert "no client secret for car-a" in no_secret.stderr


async def test_the_demo_with_authentication_off_warns_loudly(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PSG_")},
        "PSG_AUTH__REQUIRED": "false",
    }
    result = await run("demo", "--once", "--json", cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    assert "AUTHENTICATION IS OFF (auth.required: false)" in result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    solutions = [p for p in printed if "fingerprint" in p]
    kpis = [p for p in printed if "take_up" in p]
    assert len({s["fingerprint"] for s in solutions}) == 1
    # Without tokens, one report has every entry partner's rows: as the demo shows with them.
    assert [k["entry_partner"] for k in kpis] == ["airline-a", "car-a", "insurer-a", "telecom-cn"]
