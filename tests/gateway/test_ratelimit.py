"""The token buckets behind the per-partner rate limits, and who counts as the caller."""

from __future__ import annotations

import pytest

from gateway.callers import caller_of
from gateway.errors import RateLimitedError
from gateway.ratelimit import RateLimiter, TokenBucket
from gateway.settings import GatewaySettings
from partnergateway.v1 import (
    feedback_service_pb2,
    order_service_pb2,
    solution_service_pb2,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_gives_its_burst_then_one_token_per_interval() -> None:
    bucket = TokenBucket(rate=2.0, capacity=3, tokens=3, updated=0.0)

    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.25) == pytest.approx(0.25)  # half a token refilled meanwhile
    assert bucket.take(0.5) == 0.0
    assert bucket.take(100.0) == 0.0  # a long pause refills at most the burst
    assert bucket.tokens == pytest.approx(2.0)


def test_limiter_refuses_with_the_wait_until_the_next_token() -> None:
    clock = Clock()
    limiter = RateLimiter(requests_per_s=4, burst=2, partners=["telecom-cn"], clock=clock)
    limiter.admit("telecom-cn")
    limiter.admit("telecom-cn")

    with pytest.raises(RateLimitedError) as caught:
        limiter.admit("telecom-cn")

    error = caught.value
    assert error.retry_after_s == pytest.approx(0.25)
    assert error.metadata == {"caller": "telecom-cn", "retry_after_ms": "250"}
    assert error.code.name == "RESOURCE_EXHAUSTED"
    assert error.reason == "RATE_LIMITED"
    clock.now += 0.25
    limiter.admit("telecom-cn")


def test_partners_do_not_share_buckets() -> None:
    limiter = RateLimiter(1, 1, ["airline-a", "airline-b"], clock=Clock())
    limiter.admit("airline-a")
    limiter.admit("airline-b")
    with pytest.raises(RateLimitedError):
        limiter.admit("airline-a")


def test_callers_naming_no_registered_partner_share_one_bucket() -> None:
    limiter = RateLimiter(1, 2, ["airline-a"], clock=Clock())
    limiter.admit(None)
    limiter.admit("made-up-1")
    with pytest.raises(RateLimitedError) as caught:
        limiter.admit("made-up-2")
    assert caught.value.metadata["caller"] == "unidentified"
    limiter.admit("airline-a")  # a registered partner is not held back by them


def test_a_retry_delay_is_never_rounded_to_zero() -> None:
    limiter = RateLimiter(1_000_000, 1, [], clock=Clock())
    limiter.admit(None)
    with pytest.raises(RateLimitedError) as caught:
        limiter.admit(None)
    assert caught.value.retry_after_s == 0.001


def test_a_zero_rate_is_no_limiter() -> None:
    with pytest.raises(ValueError, match="requests_per_s"):
        RateLimiter(0, 1, [])


def test_rate_limit_defaults_are_generous() -> None:
    limits = GatewaySettings().rate_limits
    assert limits.requests_per_s == 100
    assert limits.burst == 200


def test_the_caller_is_the_partner_the_request_names() -> None:
    compose = solution_service_pb2.ComposeSolutionRequest()
    compose.entry.partner_id = "telecom-cn"
    stream = solution_service_pb2.StreamSolutionRequest()
    stream.entry.partner_id = "car-a"

    assert caller_of(compose, None) == "telecom-cn"
    assert caller_of(stream, None) == "car-a"
    assert caller_of(order_service_pb2.GetOrderRequest(partner_id="airline-a"), None) == (
        "airline-a"
    )
    assert caller_of(feedback_service_pb2.SubmitFeedbackRequest(partner_id="car-b"), None) == (
        "car-b"
    )
    assert caller_of(solution_service_pb2.GetSolutionRequest(solution_id="s"), None) is None
    assert caller_of(order_service_pb2.ListOrdersRequest(), None) is None
    assert caller_of(b"not a message", None) is None
