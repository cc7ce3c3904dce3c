"""The sandbox partners on the command line: who they are, where they listen, and their knobs.

They are never the gateway's default partners: only `serve --sandbox` and `demo` run them and
link the gateway to them (`gateway.cli.sandbox_link`).

Knobs (docs/partner-protocol.md, "Sandbox control") are set at start with
`--knob PARTNER.KNOB=VALUE`, or later with `PATCH /_sandbox/knobs` on each partner.
"""

from __future__ import annotations

import json
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from gateway.runtime import wait_for_termination
from sandbox import DEFAULT_PARTNERS, Knobs, SandboxCluster, start_sandbox

__all__ = [
    "KNOBS",
    "SANDBOX_PARTNER_IDS",
    "apply_knobs",
    "check_knobs",
    "knobs_help",
    "parse_knobs",
    "partners_table",
    "run_sandbox",
]

SANDBOX_PARTNER_IDS: tuple[str, ...] = tuple(spec.partner_id for spec in DEFAULT_PARTNERS)
"""The partners `serve --sandbox` and `demo` run, and register as the embedded issuer's
clients with well-known secrets when none are configured: whom the client commands can act as,
without set-up, against such a gateway."""

# What each knob does; the defaults come from `sandbox.Knobs` itself, and a test keeps the two
# in step.
KNOBS: dict[str, str] = {
    "latency_ms": "delay added to quote, retrieve, hold, confirm and cancel",
    "latency_jitter_ms": "± uniform jitter on that delay",
    "error_rate": "share of business calls failed with error_status (0 to 1; seeded per partner)",
    "error_status": "HTTP status of those failures (400 to 599)",
    "outage": "true: every call answers 503, token and health included",
    "token_ttl_s": "lifetime of the access tokens issued from then on",
    "offer_ttl_s": "lifetime of the offers quoted from then on, and of holds (0: lapse at once)",
    "fail_next": 'exact failures, queued: [{"operation": "hold", "status": 409, "count": 1}]',
}


def knobs_help() -> str:
    """The knobs as lines for `--help`: name, default, what it does."""
    defaults = Knobs().to_json()
    lines = [
        f"{name} (default {json.dumps(defaults[name])}): {meaning}"
        for name, meaning in KNOBS.items()
    ]
    return "Knobs, per partner:\n\n" + "\n\n".join(lines)


def parse_knobs(items: list[str]) -> dict[str, dict[str, Any]]:
    """`["airline-a.latency_ms=500"]` → `{"airline-a": {"latency_ms": 500}}` (JSON values)."""
    knobs: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, raw = item.partition("=")
        partner_id, dot, name = target.partition(".")
        if not (sep and dot and partner_id and name):
            raise ValueError(f"{item!r} is not PARTNER.KNOB=VALUE")
        if name not in KNOBS:
            raise ValueError(f"{name!r} is not a knob; the knobs: {', '.join(KNOBS)}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        knobs.setdefault(partner_id, {})[name] = value
    return knobs


def check_knobs(knobs: dict[str, dict[str, Any]]) -> None:
    """ValueError naming an unknown partner or a bad value, before anything starts."""
    for pid, patch in knobs.items():
        if pid not in SANDBOX_PARTNER_IDS:
            known = ", ".join(SANDBOX_PARTNER_IDS)
            raise ValueError(f"no sandbox partner {pid!r}; the partners: {known}")
        try:
            Knobs().patched(patch)
        except Exception as exc:  # the sandbox's (private) PartnerError: a 400 for a PATCH
            raise ValueError(f"{pid}: {exc}") from exc


def apply_knobs(cluster: SandboxCluster, knobs: dict[str, dict[str, Any]]) -> None:
    """Sets `knobs` (checked by `check_knobs`) on the running partners."""
    for pid, patch in knobs.items():
        cluster.partners[pid].state.patch_knobs(patch)


def partners_table(cluster: SandboxCluster) -> Table:
    """Where each sandbox partner listens, one row each."""
    table = Table(title="Sandbox partners", box=box.SIMPLE_HEAD, title_justify="left")
    for column in ("partner", "kind", "name", "base URL"):
        table.add_column(column, no_wrap=True)
    for pid, running in cluster.partners.items():
        table.add_row(pid, running.spec.kind, running.spec.name, running.base_url)
    return table


async def run_sandbox(
    host: str,
    base_port: int,
    knobs: dict[str, dict[str, Any]],
    console: Console,
    tracer_provider: Any = None,
) -> None:
    ports = (
        {spec.partner_id: base_port + i for i, spec in enumerate(DEFAULT_PARTNERS)}
        if base_port
        else None
    )
    async with await start_sandbox(
        DEFAULT_PARTNERS, host=host, ports=ports, tracer_provider=tracer_provider
    ) as cluster:
        apply_knobs(cluster, knobs)
        console.print(partners_table(cluster))
        console.print("sandbox partners running (Ctrl-C or SIGTERM to stop)")
        await wait_for_termination()
