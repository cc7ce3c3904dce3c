"""`google.protobuf.Timestamp`s from requests, range-checked before they are converted.

A Timestamp is defined from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z, with
`nanos` from 0 to 999,999,999. The wire carries any int64 and int32, and `ToDatetime()` raises
on what is outside that range, which would end the call INTERNAL: a caller's mistake must be
INVALID_ARGUMENT with a field violation naming the field. Every request Timestamp the gateway
reads goes through `checked_datetime`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

from gateway.validation import Violations

__all__ = [
    "MAX_NANOS",
    "MAX_SECONDS",
    "MIN_SECONDS",
    "checked_datetime",
    "range_problem",
    "timestamp_message",
]

MIN_SECONDS = -62_135_596_800
"""0001-01-01T00:00:00Z."""
MAX_SECONDS = 253_402_300_799
"""9999-12-31T23:59:59Z."""
MAX_NANOS = 999_999_999


def range_problem(stamp: timestamp_pb2.Timestamp) -> str | None:
    """Why `stamp` is no valid Timestamp, or None when it is one. Never repeats the value."""
    if not MIN_SECONDS <= stamp.seconds <= MAX_SECONDS:
        return "must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z"
    if not 0 <= stamp.nanos <= MAX_NANOS:
        return f"nanos must be from 0 to {MAX_NANOS}"
    return None


def checked_datetime(v: Violations, field: str, stamp: timestamp_pb2.Timestamp) -> datetime | None:
    """`stamp` as an aware UTC datetime; None, with a violation of `field`, when it is out
    of range."""
    problem = range_problem(stamp)
    if problem is not None:
        v.add(field, problem)
        return None
    return stamp.ToDatetime(UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def timestamp_message(moment: datetime) -> timestamp_pb2.Timestamp:
    """`moment` (naive means UTC, as `Timestamp.FromDatetime` reads it) as a Timestamp.

    Integer arithmetic on the timedelta, without `FromDatetime`'s pure-Python time tuple:
    every offer of every composition carries one."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds, rest = divmod(moment - _EPOCH, _SECOND)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=rest.microseconds * 1000)
