"""Malformed requests: parsed tolerantly, and reported in throttled log lines."""

from __future__ import annotations

import logging

import pytest

from gateway.malformed import MALFORMED, ThrottledLog, tolerant
from partnergateway.v1 import solution_service_pb2


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_tolerant_deserializer_parses_messages_and_marks_garbage() -> None:
    parse = tolerant(solution_service_pb2.GetSolutionRequest.FromString)
    assert parse is not None
    request = solution_service_pb2.GetSolutionRequest(solution_id="sol_1")

    assert parse(request.SerializeToString()) == request
    assert parse(b"\xff\xff\xff\xff") is MALFORMED
    assert tolerant(None) is None  # raw bytes stay raw


def test_one_line_per_key_and_interval_counting_the_ones_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    reports = ThrottledLog(logging.getLogger("test.throttled"), interval_s=60, clock=clock)

    with caplog.at_level(logging.WARNING, logger="test.throttled"):
        for _ in range(50):
            reports.warning("/a", "bad")
        reports.warning("/b", "bad")  # another key has its own interval
        clock.now += 59.9
        reports.warning("/a", "bad")
        clock.now += 0.2
        reports.warning("/a", "bad")

    assert [r.getMessage() for r in caplog.records] == [
        "/a: bad (0 more since the last report)",
        "/b: bad (0 more since the last report)",
        "/a: bad (50 more since the last report)",
    ]
