"""The command line as a person runs it: the README's commands, as written, against a real
`serve --sandbox` in another process; the demo; and what a newcomer sees when something is
missing (no gateway, no collector, an unknown destination)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.cli.sandbox_partners import KNOBS, parse_knobs

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_MARKER = "<!-- tests/e2e/test_cli.py runs the block below as written"
CLI = ".venv/bin/partner-gateway"
SANDBOX_PARTNERS = ("telecom-cn", "airline-a", "airline-b", "insurer-a", "car-a", "car-b")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(state_dir: Path, gateway_port: int, issuer_port: int) -> dict[str, str]:
    """A newcomer's shell, but on free ports: `serve` and the client commands read the same
    settings, so the client commands find the gateway and its token issuer by themselves."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PSG_", "OTEL_"))},
        "PSG_STATE_DIR": str(state_dir),
        "PSG_SERVER__ADDRESS": f"127.0.0.1:{gateway_port}",
        "PSG_AUTH__ISSUER__ADDRESS": f"127.0.0.1:{issuer_port}",
    }


@dataclass
class Shell:
    """Runs `partner-gateway` commands in one environment and working directory."""

    env: dict[str, str]
    cwd: Path

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway", *args],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@dataclass
class Served:
    shell: Shell
    started: str
    """What `serve --sandbox` printed until it was serving."""


@contextlib.contextmanager
def running(shell: Shell, *args: str) -> Iterator[subprocess.Popen[str]]:
    """`partner-gateway ARGS` in the background, its stderr readable; SIGTERM at the end."""
    with subprocess.Popen(
        [sys.executable, "-m", "gateway", *args],
        cwd=shell.cwd,
        env=shell.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def read_until(process: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    """The process's stderr up to the line holding `marker`. Read by a thread: lines the text
    wrapper already buffered never show up in a select() on the pipe."""
    stream = process.stderr
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        # Drains to the end, so a process that goes on writing never fills the pipe and stalls;
        # the pipe closed under it at the test's end ends it too.
        with contextlib.suppress(ValueError, OSError):
            for line in stream:
                lines.put(line)
        lines.put("")  # the end: the process exited

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        assert line, "exited early:\n" + "".join(seen)
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} within {timeout_s} s:\n" + "".join(seen))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`partner-gateway serve --sandbox`, as the README's first line starts it."""
    cwd = tmp_path_factory.mktemp("newcomer")
    shell = Shell(environment(cwd / "state", free_port(), free_port()), cwd)
    with running(shell, "serve", "--sandbox") as process:
        yield Served(shell, read_until(process, "gateway serving on port", 60))


def readme_commands() -> list[list[str]]:
    """The README's step-by-step block: each line's arguments after the command's name."""
    after = README.read_text(encoding="utf-8").split(README_MARKER, 1)[1]
    block = after.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        words = [w for w in shlex.split(line, comments=True) if w != "&"]
        assert words[0] == CLI, line
        commands.append(words[1:])
    return commands


def test_the_readme_sequence_works_as_written(served: Served) -> None:
    commands = readme_commands()
    assert commands[0] == ["serve", "--sandbox"]  # the fixture runs it, like the README
    assert [c[0] for c in commands[1:]] == [
        "compose",
        "book",
        "order",
        "orders",
        "cancel",
        "cancel",
        "watch",
    ]
    # The README's dates stay fixed while time passes: the same trip, a month ahead.
    depart = datetime.now(UTC).date() + timedelta(days=30)
    dates = {"--depart": depart.isoformat(), "--return": (depart + timedelta(days=7)).isoformat()}
    ids: dict[str, str] = {}
    outputs = {}
    for step, words in enumerate(commands[1:], start=1):
        args = [ids.get(w, w) for w in words]
        args = [dates.get(args[i - 1], a) if i else a for i, a in enumerate(args)]
        result = served.shell.run(*args)
        assert result.returncode == 0, f"{' '.join(words)}:\n{result.stdout}{result.stderr}"
        outputs[step] = result
        if words[0] == "compose":
            said = re.search(r"solution (sol_\w+) \(consent (cns_\w+)\)", result.stderr)
            assert said, result.stderr
            ids["SOLUTION_ID"] = said.group(1)
            assert f"book it: {CLI} book {said.group(1)}\n" in result.stderr
        if words[0] == "book":
            booked = re.search(r"order (ord_\w+), booked as (\S+)", result.stderr)
            assert booked, result.stderr
            ids["ORDER_ID"] = booked.group(1)
            # As the partner that composed it: the airline the flight entry went to.
            assert booked.group(2) == "airline-a"

    order, listed, quote, cancelled, watched = (outputs[i].stdout for i in range(3, 8))
    # Acting as the booker, the order shows every partner's component and the consent.
    for kind in ("connectivity", "flight", "insurance", "car"):
        assert kind in order
    assert re.search(r"booked by airline-a, consent cns_\w+", order)
    assert ids["ORDER_ID"] in listed
    assert "This is a quote: add --confirm to cancel." in quote
    # Money as everywhere on the command line: grouped, the currency's own decimals.
    assert re.search(r"refund for car: \d{1,3}(,\d{3})* JPY\n", quote), quote
    assert "cancelled" in cancelled
    events = watched.splitlines()[1:]
    assert events[0].split()[3] == "order_created"
    assert events[-1].split()[3] == "order_cancelled"
    assert re.search(r"component_cancelled +car +refund \d{1,3}(,\d{3})* JPY$", watched, re.M)
    assert all(len(line) <= 80 for line in events), watched


def test_serve_prints_one_table_of_partners_and_no_log_lines(served: Served) -> None:
    lines = served.started.splitlines()

    assert not [line for line in lines if line.lstrip().startswith("{")], served.started
    rows = [line for line in lines if re.match(r"\s+(\S+)\s+\S+\s.*http://127\.0\.0\.1:\d+", line)]
    assert [row.split()[0] for row in rows] == list(SANDBOX_PARTNERS)
    assert lines[-2].startswith("token issuer at http://127.0.0.1:")
    assert lines[-1].startswith("gateway serving on port ")


def test_acting_as_another_partner_is_explained(served: Served) -> None:
    shell = served.shell
    trip = ["--destination", "jp", "--depart", "2027-01-10", "--return", "2027-01-17"]
    trip[3] = (datetime.now(UTC).date() + timedelta(days=20)).isoformat()
    trip[5] = (datetime.now(UTC).date() + timedelta(days=25)).isoformat()
    composed = shell.run("compose", "--entry", "car", *trip, "--json")  # lowercase jp is JP
    assert composed.returncode == 0, composed.stderr
    solution = json.loads(composed.stdout)
    assert solution["entry_partner"] == "car-a"

    refused = shell.run("book", solution["solution_id"], "--partner", "telecom-cn")

    assert refused.returncode == 2
    assert "NOT_FOUND" in refused.stderr
    assert (
        f"solution {solution['solution_id']} was composed as car-a from this command line: "
        "act as it (--partner car-a, or leave --partner out)"
    ) in refused.stderr
    assert "Traceback" not in refused.stderr

    booked = shell.run("book", solution["solution_id"], "--json")
    order = json.loads(booked.stdout)
    assert order["partner"] == "car-a"
    assert order["consent_id"] == solution["consent_id"]
    partial = shell.run("order", order["order_id"], "--partner", "telecom-cn", "--json")
    assert partial.returncode == 0, partial.stderr
    assert [c["kind"] for c in json.loads(partial.stdout)["components"]] == ["connectivity"]
    assert "acting as telecom-cn, which sees only its own part" in partial.stderr
    shown = shell.run("consent", "show", solution["consent_id"], "--json")
    assert json.loads(shown.stdout)["partner"] == "car-a"


def test_compose_takes_travellers_and_an_origin_and_book_matches_them(served: Served) -> None:
    depart = datetime.now(UTC).date() + timedelta(days=40)
    composed = served.shell.run(
        "compose",
        "--entry",
        "flight",
        "--destination",
        "JP",
        "--depart",
        depart.isoformat(),
        "--return",
        (depart + timedelta(days=5)).isoformat(),
        "--traveller",
        "age=35,driver,residence=CN",
        "--traveller",
        "age=8",
        "--from",
        "pek",
        "--language",
        "zh-CN",
        "--json",
    )
    assert composed.returncode == 0, composed.stderr
    solution = json.loads(composed.stdout)
    flight = next(c for c in solution["components"] if c["kind"] == "flight")
    assert "(PEK)" in flight["product"]
    assert solution["language_code"] == "zh-CN"

    booked = served.shell.run("book", solution["solution_id"], "--json")

    assert booked.returncode == 0, booked.stderr
    assert json.loads(booked.stdout)["state"] == "confirmed"
    assert "Booking with 2 sample travellers matching the solution's" in booked.stderr


def test_orders_says_when_there_are_none(served: Served, tmp_path: Path) -> None:
    nobody = served.shell.run("orders", "--partner", "car-b")
    assert nobody.returncode == 0, nobody.stderr
    assert nobody.stdout.strip() == "No orders booked by car-b."

    fresh = served.shell.run("orders", env={"PSG_STATE_DIR": str(tmp_path)})
    assert fresh.returncode == 0, fresh.stderr
    assert "No orders booked from this command line yet" in fresh.stderr


def test_an_unknown_destination_airport_is_named_with_the_known_ones(tmp_path: Path) -> None:
    shell = Shell(environment(tmp_path, free_port(), free_port()), tmp_path)

    result = shell.run(
        *("compose", "--entry", "flight", "--destination", "IT"),
        *("--depart", "2027-01-10", "--return", "2027-01-17"),
    )

    assert result.returncode == 2
    assert "no destination airport is known for IT; known: AU (SYD), CN (PVG)" in result.stderr
    assert "JP (NRT)" in result.stderr
    assert "Usage:" not in result.stderr


@pytest.mark.parametrize("auth", ["required", "off"])
def test_without_a_gateway_every_client_command_says_so(tmp_path: Path, auth: str) -> None:
    # Nothing listens on either port: with tokens, the issuer is missed first.
    port = free_port()
    env = environment(tmp_path, port, free_port())
    if auth == "off":
        env["PSG_AUTH__REQUIRED"] = "false"
    shell = Shell(env, tmp_path)
    expected = f"no gateway at 127.0.0.1:{port} — start it with `partner-gateway serve --sandbox`"

    for args in (
        ("compose", "--entry", "flight", "--destination", "JP"),
        ("orders", "--partner", "telecom-cn"),
        ("watch", "ord_0", "--partner", "airline-a"),
    ):
        extra = ("--depart", "2027-01-10", "--return", "2027-01-17") if args[0] == "compose" else ()
        result = shell.run(*args, *extra)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == f"error: {expected}", args
        assert "Usage:" not in result.stderr


def test_sandbox_help_lists_every_knob(tmp_path: Path) -> None:
    result = Shell({**os.environ, "COLUMNS": "200"}, tmp_path).run("sandbox", "--help")

    assert result.returncode == 0
    for knob in KNOBS:
        assert re.search(rf"{knob} \(default [^)]+\): ", result.stdout), knob


def test_sandbox_knobs_are_settable_at_start() -> None:
    assert parse_knobs(
        ["airline-a.latency_ms=500", "airline-a.outage=true", "car-b.error_rate=0.5"]
    ) == {
        "airline-a": {"latency_ms": 500, "outage": True},
        "car-b": {"error_rate": 0.5},
    }
    with pytest.raises(ValueError, match="'latency' is not a knob; the knobs: latency_ms"):
        parse_knobs(["airline-a.latency=5"])


def test_demo_once_json_prints_four_identical_plans_around_the_held_flight(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--once", "--json"],
        cwd=tmp_path,  # the demo keeps its store under ./state/demo
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    solutions = [p for p in printed if "fingerprint" in p]
    orders = [p for p in printed if "order_id" in p and "components" in p]
    kpis = {p["entry_partner"]: p for p in printed if "take_up" in p}
    assert [s["entry"] for s in solutions] == ["roaming", "flight", "insurance", "car"]
    assert len({s["fingerprint"] for s in solutions}) == 1
    # The telecom's customer reads Chinese: the same plan, in other words.
    assert [s["language_code"] for s in solutions] == ["zh-CN", "en", "en", "en"]
    assert solutions[0]["components"][0]["title"] != solutions[1]["components"][0]["title"]
    for solution in solutions:
        assert [c["kind"] for c in solution["components"]] == [
            "connectivity",
            "flight",
            "insurance",
            "car",
        ]
        statuses = {c["kind"]: c["status"] for c in solution["components"]}
        # The customer bought the flight at airline-a before: held, never sold again.
        assert statuses == {
            "connectivity": "ok",
            "flight": "held",
            "insurance": "ok",
            "car": "ok",
        }
        flight = solution["components"][1]
        assert flight["partner"] == "airline-a"
        assert flight["reference"]
        assert flight["price"] is None
        for c in solution["components"]:
            if c["status"] == "ok":
                assert set(c["price"]) == {"currency_code", "units", "nanos"}
            assert c["reason"]
            assert c["reason_code"]
        assert solution["totals"]
    assert len(orders) == 1
    order = orders[0]
    assert order["solution_id"] == solutions[0]["solution_id"]
    assert order["state"] == "confirmed"
    # Only what the customer did not hold yet is booked.
    assert [c["kind"] for c in order["components"]] == ["connectivity", "insurance", "car"]
    assert [c["state"] for c in order["components"]] == ["confirmed"] * 3
    assert all(c["reference"] for c in order["components"])
    # The customer's 9 makes the booking entry partner's NPS +100 and its take-up 1 of 1.
    assert kpis["telecom-cn"]["booked"] == 1
    assert kpis["telecom-cn"]["take_up"] == 1.0
    assert kpis["telecom-cn"]["nps"] == 100.0
    assert kpis["airline-a"]["offered"] == 1


def test_the_demo_without_a_collector_says_so_exports_nothing_and_keeps_its_store(
    tmp_path: Path,
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PSG_", "OTEL_"))},
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }

    result = subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--once"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "No OpenTelemetry collector listens at http://127.0.0.1:" in result.stderr
    # The exporter never ran: no retries, no export errors at exit, no trace ids to look up.
    assert "export" not in result.stderr.lower().replace("not exporting", "")
    assert " trace " not in result.stderr
    # Progress lines fit 80 columns, so a terminal never breaks one inside an id or number.
    progress = [line for line in result.stderr.splitlines() if " sol_" in line]
    assert len(progress) == 4
    assert all(len(line) <= 80 for line in progress), progress

    # The demo keeps its store: the KPIs can be read without a gateway.
    local = subprocess.run(
        [sys.executable, "-m", "gateway", "kpis", "--local", "--state-dir", "state/demo", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = {r["entry_partner"]: r for r in map(json.loads, local.stdout.splitlines())}
    assert set(rows) == {"telecom-cn", "airline-a", "insurer-a", "car-a"}
    assert rows["telecom-cn"]["nps"] == 100.0


def test_the_serving_demo_hints_at_commands_that_work_as_printed(tmp_path: Path) -> None:
    shell = Shell(environment(tmp_path / "state", free_port(), free_port()), tmp_path)
    with running(shell, "demo") as process:
        printed = read_until(process, "Ctrl-C to stop.", 120)
        hint = printed.split("Try:\n", 1)[1].splitlines()
        commands = [line.strip() for line in hint if line.strip().startswith(CLI)]
        assert len(commands) == 3, printed
        # The hinted `order` works as printed: the demo remembered who booked it.
        words = shlex.split(commands[1])
        assert words[1] == "order"
        shown = shell.run(*words[1:], "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["partner"] == "telecom-cn"
