"""What an error says back is bounded: it travels in trailing metadata, capped by clients."""

from __future__ import annotations

from google.rpc import code_pb2, error_details_pb2

from gateway.errors import FieldViolation, InvalidRequestError, NotFoundError, RateLimitedError
from gateway.interceptors import MAX_TEXT, status_for
from gateway.validation import shown

CLIENT_METADATA_LIMIT = 8 * 1024


def unpacked(status: object, kind: type) -> object:
    for detail in status.details:  # type: ignore[attr-defined]
        found = kind()
        if detail.Unpack(found):
            return found
    raise AssertionError(f"no {kind.__name__}")


def test_an_echoed_megabyte_is_cut_short() -> None:
    status = status_for(NotFoundError(f"solution {'文' * 1_000_000!r} not found"))

    assert len(status.message) == MAX_TEXT
    assert status.message.endswith("…")
    assert status.ByteSize() < 2 * 1024


def test_many_long_violations_fit_the_clients_metadata_limit() -> None:
    violations = [FieldViolation(f"travellers[{i}].given_name", "é" * 10_000) for i in range(100)]

    status = status_for(InvalidRequestError(violations))

    # base64 in `grpc-status-details-bin`, plus the percent-encoded message
    assert status.ByteSize() * 4 / 3 + len(status.message.encode()) * 3 < CLIENT_METADATA_LIMIT
    bad = unpacked(status, error_details_pb2.BadRequest)
    kept = [v.field for v in bad.field_violations]  # type: ignore[attr-defined]
    assert kept[0] == "travellers[0].given_name"
    info = unpacked(status, error_details_pb2.ErrorInfo)
    assert info.metadata["violations_omitted"] == str(100 - len(kept))  # type: ignore[attr-defined]


def test_a_few_violations_are_all_reported_unchanged() -> None:
    violations = [FieldViolation("entry", "is required"), FieldViolation("travellers", "x")]

    bad = unpacked(status_for(InvalidRequestError(violations)), error_details_pb2.BadRequest)

    assert [(v.field, v.description) for v in bad.field_violations] == [  # type: ignore[attr-defined]
        ("entry", "is required"),
        ("travellers", "x"),
    ]


def test_rate_limited_is_resource_exhausted_with_retry_info() -> None:
    status = status_for(RateLimitedError("slow down", retry_after_s=0.25))

    assert status.code == code_pb2.RESOURCE_EXHAUSTED
    retry = unpacked(status, error_details_pb2.RetryInfo)
    assert retry.retry_delay.ToMilliseconds() == 250  # type: ignore[attr-defined]
    assert unpacked(status, error_details_pb2.ErrorInfo).reason == "RATE_LIMITED"  # type: ignore[attr-defined]


def test_shown_values_are_cut_short_and_say_how_long_they_were() -> None:
    assert shown("JP") == "'JP'"
    assert shown("z" * 1000) == f"{'z' * 40!r}… (1000 characters)"
