"""How solutions look to people (a table) and to programs (one JSON object per solution)."""

from __future__ import annotations

import re
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision
from google.type import money_pb2
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gateway.money import from_money
from partnergateway.v1 import solution_pb2

_STATUS: dict[int, str] = {
    solution_pb2.COMPONENT_STATUS_OK: "ok",
    solution_pb2.COMPONENT_STATUS_UNAVAILABLE: "unavailable",
    solution_pb2.COMPONENT_STATUS_NOT_APPLICABLE: "not_applicable",
    solution_pb2.COMPONENT_STATUS_CONSENT_REQUIRED: "consent_required",
    solution_pb2.COMPONENT_STATUS_HELD: "held",
}


def status_name(status: int) -> str:
    return _STATUS.get(status, "unspecified")


def money_json(money: money_pb2.Money) -> dict[str, Any]:
    return {"currency_code": money.currency_code, "units": money.units, "nanos": money.nanos}


def money_text(money: money_pb2.Money) -> str:
    """An amount for the command line's tables: grouped, with the currency's own decimals and
    its ISO code (unambiguous where ¥ could be yen or yuan): `40,755 JPY`, `629.64 CNY`."""
    return amount_text(from_money(money), money.currency_code)


def amount_text(amount: Decimal, currency_code: str) -> str:
    digits = get_currency_precision(currency_code)
    return f"{amount:,.{digits}f} {currency_code}"


# An amount in an order event's detail as the saga writes it ("refund 40755 JPY").
_AMOUNT_IN_TEXT = re.compile(r"\b(\d+(?:\.\d+)?) ([A-Z]{3})\b")


def amounts_in_text(text: str) -> str:
    """`text` with every "<amount> <ISO code>" in it formatted as `money_text` does."""

    def formatted(match: re.Match[str]) -> str:
        try:
            return amount_text(Decimal(match.group(1)), match.group(2))
        except (InvalidOperation, ValueError):  # not a currency Babel knows: as it was
            return match.group(0)

    return _AMOUNT_IN_TEXT.sub(formatted, text)


def solution_json(solution: solution_pb2.Solution) -> dict[str, Any]:
    components = []
    for c in solution.components:
        ok = c.status == solution_pb2.COMPONENT_STATUS_OK
        held = c.status == solution_pb2.COMPONENT_STATUS_HELD
        components.append(
            {
                "kind": c.kind,
                "title": c.title or None,
                "status": status_name(c.status),
                "partner": c.offer.partner_id if ok else c.held.partner_id if held else None,
                "offer_id": c.offer.offer_id if ok else None,
                "reference": c.held.reference if held else None,
                "product": c.offer.title if ok else c.held.title if held else None,
                "price": money_json(c.offer.price.total) if ok else None,
                "price_text": c.offer.price.total_text if ok else None,
                "alternatives": len(c.alternatives),
                "reason_code": c.reason_code or None,
                "reason": c.reason or None,
                "not_covered": [
                    {"traveller": n.traveller_index, "reason": n.reason}
                    for n in c.uncovered_travellers
                ],
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
        "totals_text": list(solution.totals_text),
        "language_code": solution.language_code or None,
        "consent_id": solution.consent_id or None,
        "expire_time": solution.expire_time.ToJsonString()
        if solution.HasField("expire_time")
        else None,
    }


def component_cell(c: solution_pb2.Component, *, reasons: bool = True) -> str:
    """One component for people: what was chosen (or is held) and why, in the plan's language."""
    why = f"\n[dim]{escape(c.reason)}[/dim]" if reasons and c.reason else ""
    notes = "".join(f"\n[dim]• {escape(n.reason)}[/dim]" for n in c.uncovered_travellers)
    if c.status == solution_pb2.COMPONENT_STATUS_OK:
        price = c.offer.price.total_text or money_text(c.offer.price.total)
        return f"{escape(c.offer.partner_name)}\n{escape(c.offer.title)}\n{price}{why}{notes}"
    if c.status == solution_pb2.COMPONENT_STATUS_HELD:
        return (
            f"[cyan]held[/cyan] {escape(c.held.partner_name)} {escape(c.held.reference)}\n"
            f"{escape(c.held.title)}{why}"
        )
    return f"[yellow]{status_name(c.status)}[/yellow]\n{escape(c.reason)}"


def _totals(s: solution_pb2.Solution) -> str:
    return "\n".join(s.totals_text) or "\n".join(money_text(m) for m in s.totals)


def solutions_table(
    solutions: list[solution_pb2.Solution], title: str | None = None, *, reasons: bool = True
) -> Table:
    """One column per solution, one row per component: identical rows read as identical."""
    table = Table(title=title or "Travel abroad — one solution per entry partner", show_lines=True)
    table.add_column("", style="bold")
    for s in solutions:
        table.add_column(f"entered at\n{s.entry.partner_id} ({s.entry.kind})")
    # Row labels in English when any column is (the others read their own column).
    labelled = next((s for s in solutions if s.language_code in ("", "en")), None)
    first = (labelled or solutions[0]).components if solutions else []
    for index, component in enumerate(first):
        label = escape(component.title or component.kind)
        table.add_row(
            label, *(component_cell(s.components[index], reasons=reasons) for s in solutions)
        )
    table.add_row("total", *(_totals(s) for s in solutions))
    table.add_row("fingerprint", *(s.fingerprint[:16] for s in solutions))
    return table


def stdout_console() -> Console:
    """Tables on stdout: the terminal's width, or 140 columns when piped (rich would use 80)."""
    return Console(width=None if sys.stdout.isatty() else 140)
