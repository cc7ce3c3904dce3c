"""The async bodies of the customer KPI commands: feedback and kpis."""

from __future__ import annotations

import json
import uuid
from typing import Any

from rich import box
from rich.table import Table

from gateway.cli.render import stdout_console
from gateway.client import GatewayClient
from gateway.feedback.render import kpi_row_message
from gateway.settings import GatewaySettings
from gateway.storage import open_store
from partnergateway.v1 import feedback_pb2, feedback_service_pb2, solution_service_pb2

DEFAULT_PARTNER = "telecom-cn"  # as for the order commands


def feedback_json(feedback: feedback_pb2.Feedback) -> dict[str, Any]:
    return {
        "feedback_id": feedback.feedback_id,
        "partner": feedback.partner_id,
        "solution_id": feedback.solution_id,
        "order_id": feedback.order_id or None,
        "score": feedback.score,
        "comment": feedback.comment or None,
        "create_time": feedback.create_time.ToJsonString(),
    }


def kpi_json(row: feedback_pb2.KpiRow) -> dict[str, Any]:
    return {
        "entry_partner": row.entry_partner_id,
        "recipe": row.recipe,
        "offered": row.solutions_offered,
        "booked": row.solutions_booked,
        "take_up": row.take_up,
        "responses": row.responses,
        "promoters": row.promoters,
        "passives": row.passives,
        "detractors": row.detractors,
        "nps": row.nps if row.HasField("nps") else None,
    }


def kpi_table(rows: list[feedback_pb2.KpiRow]) -> Table:
    """The KPIs in 80 columns: the recipe goes to the title when every row shares it, and the
    three response groups share one column."""
    recipes = sorted({row.recipe or "—" for row in rows})
    shared = recipes[0] if len(recipes) == 1 else None
    table = Table(
        title="Customer KPIs per entry partner"
        + (f", recipe {shared}" if shared else " and recipe"),
        caption="responses: all (promoters / passives / detractors)",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("entry partner", no_wrap=True)
    if shared is None:
        table.add_column("recipe", no_wrap=True)
    for column in ("offered", "booked", "take-up", "NPS", "responses"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(
            row.entry_partner_id,
            *([] if shared else [row.recipe or "—"]),
            str(row.solutions_offered),
            str(row.solutions_booked),
            f"{row.take_up:.1%}",
            f"{row.nps:+.1f}" if row.HasField("nps") else "—",
            f"{row.responses} ({row.promoters} / {row.passives} / {row.detractors})",
        )
    return table


async def submit(
    client: GatewayClient,
    *,
    solution_id: str | None,
    order_id: str | None,
    score: int,
    comment: str,
    partner: str | None,
    request_id: str | None,
    as_json: bool,
) -> feedback_pb2.Feedback:
    if partner is None and solution_id is not None:
        found = await client.solutions.GetSolution(
            solution_service_pb2.GetSolutionRequest(solution_id=solution_id), timeout=10
        )
        partner = found.solution.entry.partner_id
    request = feedback_service_pb2.SubmitFeedbackRequest(
        request_id=request_id or f"cli-{uuid.uuid4().hex}",
        partner_id=partner or DEFAULT_PARTNER,
        score=score,
        comment=comment,
    )
    if solution_id is not None:
        request.solution_id = solution_id
    else:
        request.order_id = order_id or ""
    response = await client.feedback.SubmitFeedback(request, timeout=10)
    if as_json:
        print(json.dumps(feedback_json(response.feedback), ensure_ascii=False))
    else:
        f = response.feedback
        subject = f"order {f.order_id}" if f.order_id else f"solution {f.solution_id}"
        stdout_console().print(f"Recorded {f.feedback_id}: score {f.score} on {subject}.")
    return response.feedback


async def kpis(
    client: GatewayClient, partner: str | None, recipe: str | None, as_json: bool
) -> None:
    show_kpis(await kpi_report(client, partner, recipe), as_json)


async def kpi_report(
    client: GatewayClient, partner: str | None, recipe: str | None
) -> list[feedback_pb2.KpiRow]:
    """The rows of `partner` (all partners': only with auth off), sorted by partner, recipe."""
    response = await client.feedback.GetKpiReport(
        feedback_service_pb2.GetKpiReportRequest(partner_id=partner or "", recipe=recipe or ""),
        timeout=30,
    )
    return list(response.rows)


async def kpis_local(
    settings: GatewaySettings, partner: str | None, recipe: str | None, as_json: bool
) -> None:
    """The same report, read straight from the store (no gateway needs to run)."""
    store = await open_store(
        settings.state_dir, settings.storage.dsn, schema=settings.storage.pg_schema
    )
    try:
        rows = await store.kpi_rows(partner, recipe)
    finally:
        await store.aclose()
    show_kpis([kpi_row_message(r) for r in rows], as_json)


def show_kpis(rows: list[feedback_pb2.KpiRow], as_json: bool) -> None:
    response = feedback_service_pb2.GetKpiReportResponse(rows=rows)
    if as_json:
        for row in response.rows:
            print(json.dumps(kpi_json(row), ensure_ascii=False))
    elif response.rows:
        stdout_console().print(kpi_table(list(response.rows)))
    else:
        stdout_console().print("No solutions composed yet: no KPIs to report.")
