"""How solutions look to people (a table) and to programs (one JSON object per solution)."""

from __future__ import annotations

import sys
from typing import Any

from google.type import money_pb2
from rich.console import Console
from rich.table import Table

from gateway.money import from_money
from partnergateway.v1 import solution_pb2

_STATUS: dict[int, str] = {
    solution_pb2.COMPONENT_STATUS_OK: "ok",
    solution_pb2.COMPONENT_STATUS_UNAVAILABLE: "unavailable",
    solution_pb2.COMPONENT_STATUS_NOT_APPLICABLE: "not_applicable",
    solution_pb2.COMPONENT_STATUS_CONSENT_REQUIRED: "consent_required",
}


def status_name(status: int) -> str:
    return _STATUS.get(status, "unspecified")


def money_json(money: money_pb2.Money) -> dict[str, Any]:
    return {"currency_code": money.currency_code, "units": money.units, "nanos": money.nanos}


def money_text(money: money_pb2.Money) -> str:
    return f"{from_money(money):,.2f} {money.currency_code}"


def solution_json(solution: solution_pb2.Solution) -> dict[str, Any]:
    components = []
    for c in solution.components:
        ok = c.status == solution_pb2.COMPONENT_STATUS_OK
        components.append(
            {
                "kind": c.kind,
                "status": status_name(c.status),
                "partner": c.offer.partner_id if ok else None,
                "offer_id": c.offer.offer_id if ok else None,
                "title": c.offer.title if ok else None,
                "price": money_json(c.offer.price.total) if ok else None,
                "alternatives": len(c.alternatives),
                "reason": c.reason or None,
            }
        )
    return {
        "entry": solution.entry.kind,
        "entry_partner": solution.entry.partner_id,
        "solution_id": solution.solution_id,
        "fingerprint": solution.fingerprint,
        "recipe": solution.recipe,
        "components": components,
        "totals": [money_json(m) for m in solution.totals],
        "expire_time": solution.expire_time.ToJsonString()
        if solution.HasField("expire_time")
        else None,
    }


def solutions_table(solutions: list[solution_pb2.Solution]) -> Table:
    """One column per solution, one row per component: identical rows read as identical."""
    table = Table(title="Travel abroad — one solution per entry partner", show_lines=True)
    table.add_column("", style="bold")
    for s in solutions:
        table.add_column(f"entered at\n{s.entry.partner_id} ({s.entry.kind})")
    kinds = [c.kind for c in solutions[0].components] if solutions else []
    for index, kind in enumerate(kinds):
        cells = []
        for s in solutions:
            c = s.components[index]
            if c.status == solution_pb2.COMPONENT_STATUS_OK:
                cells.append(
                    f"{c.offer.partner_name}\n{c.offer.title}\n{money_text(c.offer.price.total)}"
                )
            else:
                cells.append(f"[yellow]{status_name(c.status)}[/yellow]\n{c.reason}")
        table.add_row(kind, *cells)
    table.add_row("total", *("\n".join(money_text(m) for m in s.totals) for s in solutions))
    table.add_row("fingerprint", *(s.fingerprint[:16] for s in solutions))
    return table


def stdout_console() -> Console:
    """Tables on stdout: the terminal's width, or 140 columns when piped (rich would use 80)."""
    return Console(width=None if sys.stdout.isatty() else 140)
