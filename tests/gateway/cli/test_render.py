"""What the command line prints fits 80 columns and formats money one way."""

from __future__ import annotations

import pytest
from google.protobuf import timestamp_pb2
from google.type import money_pb2
from rich.console import Console
from rich.table import Table

from gateway.cli.feedback import kpi_table
from gateway.cli.orders import event_line, order_table
from gateway.cli.render import amounts_in_text, money_text
from partnergateway.v1 import feedback_pb2, order_pb2

pytestmark = pytest.mark.unit


def rendered(table: Table, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, file=None, force_terminal=False)
    with console.capture() as captured:
        console.print(table)
    return captured.get().splitlines()


def test_money_has_its_currencys_decimals_and_code() -> None:
    yen = money_pb2.Money(currency_code="JPY", units=40755)
    yuan = money_pb2.Money(currency_code="CNY", units=9329, nanos=500_000_000)

    assert money_text(yen) == "40,755 JPY"
    assert money_text(yuan) == "9,329.50 CNY"


def test_amounts_in_event_details_are_formatted_like_the_rest() -> None:
    assert amounts_in_text("refund 40755 JPY") == "refund 40,755 JPY"
    assert amounts_in_text("refund 9329.00 CNY") == "refund 9,329.00 CNY"
    assert amounts_in_text("hold at ES-2024 refused") == "hold at ES-2024 refused"


def test_the_kpi_table_is_whole_at_80_columns() -> None:
    row = feedback_pb2.KpiRow(
        entry_partner_id="telecom-cn",
        recipe="travel_abroad@1",
        solutions_offered=1234,
        solutions_booked=1000,
        take_up=1000 / 1234,
        responses=999,
        promoters=500,
        passives=300,
        detractors=199,
        nps=30.13,
    )

    lines = rendered(kpi_table([row]))

    assert all(len(line) <= 80 for line in lines)
    text = "\n".join(lines)
    assert "…" not in text  # nothing cut short
    for shown in ("telecom-cn", "travel_abroad@1", "1234", "1000", "81.0%", "+30.1"):
        assert shown in text
    assert "999 (500 / 300 / 199)" in text


def test_an_order_names_who_booked_it_and_the_consent() -> None:
    order = order_pb2.Order(
        order_id="ord_1",
        partner_id="airline-a",
        consent_id="cns_1",
        state=order_pb2.ORDER_STATE_CONFIRMED,
    )

    text = "\n".join(rendered(order_table(order)))

    assert "booked by airline-a, consent cns_1" in text


def test_an_order_event_is_one_line_of_at_most_80_columns() -> None:
    at = timestamp_pb2.Timestamp()
    at.FromJsonString("2027-01-10T04:12:48.733987Z")
    event = order_pb2.OrderEvent(
        sequence=14,
        event_time=at,
        type="component_cancelled",
        component_kind="connectivity",
        detail="refund 40755 JPY",
    )

    line = event_line(event)

    assert line == ("  14 01-10 04:12:48 component_cancelled       connectivity refund 40,755 JPY")
    assert len(line) <= 80
