"""The ConsentService RPCs: a consent's state, and its withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import grpc

from gateway.access import not_found
from gateway.callers import acting_partner, current_caller
from gateway.model import AuditRecord, ConsentRecord
from gateway.privacy._consent import consent_message
from gateway.storage import AuditStore, ConsentStore
from partnergateway.v1 import consent_service_pb2, consent_service_pb2_grpc

Ctx = grpc.aio.ServicerContext[Any, Any]
_SERVICE = "rpc:ConsentService/"
GET, WITHDRAW = f"{_SERVICE}GetConsent", f"{_SERVICE}WithdrawConsent"


class ConsentServiceStore(ConsentStore, AuditStore, Protocol):
    """Consents and the audit log."""


class ConsentService(consent_service_pb2_grpc.ConsentServiceServicer):
    def __init__(self, store: ConsentServiceStore) -> None:
        self._store = store

    async def GetConsent(
        self, request: consent_service_pb2.GetConsentRequest, context: Ctx
    ) -> consent_service_pb2.GetConsentResponse:
        consent = await self._owned(request.consent_id, GET)
        return consent_service_pb2.GetConsentResponse(consent=consent_message(consent))

    async def WithdrawConsent(
        self, request: consent_service_pb2.WithdrawConsentRequest, context: Ctx
    ) -> consent_service_pb2.WithdrawConsentResponse:
        consent = await self._owned(request.consent_id, WITHDRAW)
        withdrawn = await self._store.withdraw_consent(
            consent.consent_id,
            datetime.now(UTC),
            audit=[
                AuditRecord(
                    actor=acting_partner(),
                    action=WITHDRAW,
                    subject=consent.consent_id,
                    outcome="withdrawn",
                    purpose=consent.purpose,
                    consent_id=consent.consent_id,
                )
            ],
        )
        assert withdrawn is not None  # consents are never deleted
        return consent_service_pb2.WithdrawConsentResponse(consent=consent_message(withdrawn))

    async def _owned(self, consent_id: str, action: str) -> ConsentRecord:
        """The consent if the caller collected it; NOT_FOUND alike for others' and missing."""
        consent = await self._store.get_consent(consent_id) if consent_id else None
        caller = current_caller()
        if consent is None or (caller is not None and consent.owner != caller.partner_id):
            await not_found(self._store, action, "consent", consent_id, exists=consent is not None)
        return consent
