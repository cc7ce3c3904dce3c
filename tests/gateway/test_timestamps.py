"""Request Timestamps are range-checked into field violations, never converted blindly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import timestamp_pb2

from gateway.timestamps import (
    MAX_NANOS,
    MAX_SECONDS,
    MIN_SECONDS,
    checked_datetime,
    timestamp_message,
)
from gateway.validation import Violations


def _stamp(seconds: int, nanos: int = 0) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


@pytest.mark.parametrize(
    ("seconds", "nanos", "expected"),
    [
        (MIN_SECONDS, 0, datetime(1, 1, 1, tzinfo=UTC)),
        (MAX_SECONDS, MAX_NANOS, datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
        (0, 0, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_the_range_ends_are_accepted(seconds: int, nanos: int, expected: datetime) -> None:
    v = Violations()

    assert checked_datetime(v, "at", _stamp(seconds, nanos)) == expected
    assert not v


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [
        (MIN_SECONDS - 1, 0),
        (MAX_SECONDS + 1, 0),
        (2**62, 0),
        (-(2**63), 0),
        (0, -1),
        (0, -5),
        (0, MAX_NANOS + 1),
        (0, 2_000_000_000),
    ],
)
def test_outside_the_range_is_a_violation_of_the_field(seconds: int, nanos: int) -> None:
    v = Violations()

    assert checked_datetime(v, "consent.give_time", _stamp(seconds, nanos)) is None
    assert [item.field for item in v.items] == ["consent.give_time"]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 30, 5, 1, 2, 345678, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),  # before the epoch
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=9))),  # another offset
        datetime(2030, 5, 5, 1, 2, 3, 7),  # naive: UTC
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
def test_timestamp_message_is_what_protobuf_makes_of_the_moment(moment: datetime) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(moment)
    assert timestamp_message(moment) == expected
