"""`partner-gateway consent show|withdraw`: a customer's consent, as the gateway recorded it."""

from __future__ import annotations

import json
from typing import Any

from gateway.cli.render import stdout_console
from gateway.client import GatewayClient
from partnergateway.v1 import consent_pb2, consent_service_pb2


def consent_json(consent: consent_pb2.Consent) -> dict[str, Any]:
    return {
        "consent_id": consent.consent_id,
        "partner": consent.partner_id,
        "purpose": consent.purpose,
        "partner_ids": list(consent.partner_ids),
        "partner_kinds": list(consent.partner_kinds),
        "given": consent.give_time.ToJsonString(),
        "notice_version": consent.notice_version,
        "withdrawn": consent.withdraw_time.ToJsonString()
        if consent.HasField("withdraw_time")
        else None,
    }


def show_consent(consent: consent_pb2.Consent, as_json: bool) -> None:
    shown = consent_json(consent)
    if as_json:
        print(json.dumps(shown, ensure_ascii=False))
        return
    console = stdout_console()
    state = f"withdrawn {shown['withdrawn']}" if shown["withdrawn"] else "in force"
    console.print(f"Consent {consent.consent_id} — {state}")
    console.print(f"  collected by   {consent.partner_id} (notice {consent.notice_version})")
    console.print(f"  given          {shown['given']}")
    console.print(f"  purpose        {consent.purpose}")
    covered = [*consent.partner_kinds, *(f"partner {p}" for p in consent.partner_ids)]
    console.print(f"  covers         {', '.join(covered)}")


async def get_consent(client: GatewayClient, consent_id: str, as_json: bool) -> None:
    """Asks as the client's partner: the request names none."""
    response = await client.consents.GetConsent(
        consent_service_pb2.GetConsentRequest(consent_id=consent_id), timeout=10
    )
    show_consent(response.consent, as_json)


async def withdraw_consent(client: GatewayClient, consent_id: str, as_json: bool) -> None:
    response = await client.consents.WithdrawConsent(
        consent_service_pb2.WithdrawConsentRequest(consent_id=consent_id), timeout=10
    )
    show_consent(response.consent, as_json)
