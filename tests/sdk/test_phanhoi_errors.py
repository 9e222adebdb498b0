"""Every status error class from a problem+json body; Retry-After parsing."""

from __future__ import annotations

import email.utils

import pytest
import responses
from phanhoi import Client
from phanhoi.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    PhanHoiError,
    Problem,
    RateLimitError,
    UnprocessableEntityError,
    WebhookVerificationError,
    parse_retry_after,
)

BASE = "https://relay.test"

URL = BASE + "/api/v1/sites/site_1/config"


def problem(status: int, **extra: object) -> dict[str, object]:
    return {
        "type": f"https://relay.test/problems/{status}",
        "title": "Lỗi",
        "status": status,
        "detail": "chi tiết",
        "instance": "/api/v1/sites/site_1/config",
        **extra,
    }


def test_tree() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, PhanHoiError)
    assert issubclass(APIStatusError, PhanHoiError)
    assert issubclass(WebhookVerificationError, PhanHoiError)
    for cls in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        ConflictError,
        UnprocessableEntityError,
        RateLimitError,
        InternalServerError,
    ):
        assert issubclass(cls, APIStatusError)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (410, APIStatusError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
    ],
)
def test_error_class_from_problem(
    status: int, cls: type[APIStatusError], mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    mocked.get(
        URL,
        status=status,
        json=problem(status),
        content_type="application/problem+json",
        headers={"X-Request-Id": "req-42"},
    )
    with Client(BASE, "site_1", max_retries=0) as client, pytest.raises(APIStatusError) as info:
        client.site_config()
    err = info.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.request_id == "req-42"
    assert err.body == problem(status)
    assert err.problem == Problem(
        type=f"https://relay.test/problems/{status}",
        title="Lỗi",
        status=status,
        detail="chi tiết",
        instance="/api/v1/sites/site_1/config",
        raw=problem(status),
    )
    assert "Lỗi" in str(err) and "req-42" in str(err)


def test_unprocessable_exposes_field_errors(mocked: responses.RequestsMock) -> None:
    body = problem(
        422,
        errors={"title": ["Bắt buộc."], "location": {"lat": ["Không hợp lệ."]}, "x": "one"},
    )
    mocked.get(URL, status=422, json=body, content_type="application/problem+json")
    with Client(BASE, "site_1") as client, pytest.raises(UnprocessableEntityError) as info:
        client.site_config()
    assert info.value.errors == {
        "title": ["Bắt buộc."],
        "location.lat": ["Không hợp lệ."],
        "x": ["one"],
    }


def test_rate_limit_retry_after(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=429, json=problem(429), headers={"Retry-After": "12"})
    with Client(BASE, "site_1", max_retries=0) as client, pytest.raises(RateLimitError) as info:
        client.site_config()
    assert info.value.retry_after == 12.0


def test_non_json_error_body(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=502, body="Bad Gateway", content_type="text/html")
    with (
        Client(BASE, "site_1", max_retries=0) as client,
        pytest.raises(InternalServerError) as info,
    ):
        client.site_config()
    assert info.value.problem is None
    assert info.value.body == "Bad Gateway"
    assert info.value.request_id is None


def test_unprocessable_without_problem_has_no_errors(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=422, body="nope")
    with Client(BASE, "site_1") as client, pytest.raises(UnprocessableEntityError) as info:
        client.site_config()
    assert info.value.errors == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("0", 0.0), ("5", 5.0), ("999", 60.0), ("-1", None), ("x", None),
     ("\u00b2", None)],  # a digit to str.isdigit, not to float()
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00", now=now) is None  # no zone


def test_problem_defaults() -> None:
    p = Problem.from_dict({"status": "x", "errors": ["bad"]})
    assert p.type == "about:blank"
    assert p.status is None
    assert p.errors == {"_schema": ["bad"]}
