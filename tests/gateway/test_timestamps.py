"""Request Timestamps are range-checked into field violations, never converted blindly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from google.protobuf import timestamp_pb2

from gateway.timestamps import MAX_NANOS, MAX_SECONDS, MIN_SECONDS, checked_datetime
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
