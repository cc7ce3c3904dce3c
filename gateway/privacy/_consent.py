"""The customer's consent as a request carries it: checked, recorded, and shown back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

from gateway.model import ConsentRecord
from gateway.timestamps import checked_datetime
from gateway.validation import MAX_NOTICE_VERSION_LENGTH, Violations
from partnergateway.v1 import consent_pb2

# A consent is given shortly before the request; a clock a little ahead is tolerated, and
# one older than a year is stale (the customer should be asked again).
_FUTURE_LEEWAY = timedelta(minutes=5)
_MAX_AGE = timedelta(days=366)
_MAX_COVERED = 32


def consent_violations(
    v: Violations,
    field: str,
    consent: consent_pb2.Consent,
    purpose: str | None,
    partner_kinds: Mapping[str, str],
    now: datetime,
) -> None:
    """Checks a request's consent. `purpose` is the recipe the request triggers (None when the
    request names none yet); `partner_kinds` maps configured partners to their kinds."""
    if not consent.purpose:
        v.add(f"{field}.purpose", "is required")
    elif purpose is not None and consent.purpose != purpose:
        v.add(f"{field}.purpose", f"must be {purpose!r}: the solution this request composes")
    if not consent.partner_ids and not consent.partner_kinds:
        v.add(f"{field}.partner_ids", "at least one partner id or partner kind is required")
    if len(consent.partner_ids) + len(consent.partner_kinds) > _MAX_COVERED:
        v.add(f"{field}.partner_ids", f"at most {_MAX_COVERED} partner ids and kinds together")
    else:
        for i, pid in enumerate(consent.partner_ids):
            if pid not in partner_kinds:
                v.add(f"{field}.partner_ids[{i}]", "is not a registered partner")
        known_kinds = set(partner_kinds.values())
        for i, kind in enumerate(consent.partner_kinds):
            if kind not in known_kinds:
                v.add(
                    f"{field}.partner_kinds[{i}]",
                    f"is not a partner kind; kinds: {', '.join(sorted(known_kinds))}",
                )
    if not consent.HasField("give_time"):
        v.add(f"{field}.give_time", "is required")
    elif (given := checked_datetime(v, f"{field}.give_time", consent.give_time)) is not None:
        if given > now + _FUTURE_LEEWAY:
            v.add(f"{field}.give_time", "is in the future")
        elif now - given > _MAX_AGE:
            v.add(f"{field}.give_time", "is more than a year ago: ask the customer again")
    v.text(
        f"{field}.notice_version",
        consent.notice_version,
        required=True,
        limit=MAX_NOTICE_VERSION_LENGTH,
    )
    set_by_caller = {
        "consent_id": bool(consent.consent_id),
        "withdraw_time": consent.HasField("withdraw_time"),
        "partner_id": bool(consent.partner_id),
    }
    for name, present in set_by_caller.items():
        if present:
            v.add(f"{field}.{name}", "is set by the gateway; leave it empty")


def consent_record(consent: consent_pb2.Consent, owner: str, now: datetime) -> ConsentRecord:
    """A new record of a checked consent (`consent_violations` found none), with a fresh id."""
    return ConsentRecord(
        consent_id=f"cns_{uuid.uuid4().hex}",
        owner=owner,
        purpose=consent.purpose,
        partner_ids=tuple(sorted(set(consent.partner_ids))),
        partner_kinds=tuple(sorted(set(consent.partner_kinds))),
        given_at=consent.give_time.ToDatetime(UTC),
        notice_version=consent.notice_version,
        created_at=now,
    )


def _timestamp(at: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return stamp


def consent_message(record: ConsentRecord) -> consent_pb2.Consent:
    message = consent_pb2.Consent(
        consent_id=record.consent_id,
        purpose=record.purpose,
        partner_ids=record.partner_ids,
        partner_kinds=record.partner_kinds,
        give_time=_timestamp(record.given_at),
        notice_version=record.notice_version,
        partner_id=record.owner,
    )
    if record.withdrawn_at is not None:
        message.withdraw_time.CopyFrom(_timestamp(record.withdrawn_at))
    return message
