"""The shared retry layer: what is retried, how long it waits, what it raises."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests
import responses
from phanhoi import _http
from phanhoi.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    RateLimitError,
)

BASE = "https://relay.test"

URL = BASE + "/x"


def call(max_retries: int = 2) -> requests.Response:
    with requests.Session() as session:
        return _http.request(session, "GET", URL, timeout=(1, 1), max_retries=max_retries)


def test_backoff_grows_with_jitter_and_cap() -> None:
    for attempt in range(10):
        ceiling = min(_http.BACKOFF_CAP, _http.BACKOFF_BASE * 2**attempt)
        for _ in range(20):
            assert ceiling / 2 <= _http._backoff(attempt) <= ceiling
    assert len({_http._backoff(3) for _ in range(20)}) > 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retried_statuses(status: int, mocked: responses.RequestsMock, sleeps: list[float]) -> None:
    mocked.get(URL, status=status)
    mocked.get(URL, status=status)
    mocked.get(URL, json={"ok": True})
    assert call().json() == {"ok": True}
    assert sleeps == pytest.approx([0.1, 0.2])
    assert len(mocked.calls) == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, RateLimitError), (503, InternalServerError)],
)
def test_gives_up_after_max_retries(
    status: int, error: type[Exception], mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    for _ in range(3):
        mocked.get(URL, status=status)
    with pytest.raises(error):
        call()
    assert len(mocked.calls) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_not_retried(
    status: int, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    mocked.get(URL, status=status)
    with pytest.raises(APIStatusError):
        call()
    assert len(mocked.calls) == 1
    assert sleeps == []


def test_connection_error_retried_then_raised(
    mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    for _ in range(3):
        mocked.get(URL, body=requests.ConnectionError("refused"))
    with pytest.raises(APIConnectionError) as info:
        call()
    assert not isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, requests.ConnectionError)
    assert sleeps == pytest.approx([0.1, 0.2])


@pytest.mark.parametrize("exc", [requests.ReadTimeout, requests.ConnectTimeout])
def test_timeout_retried_then_raised(
    exc: type[Exception], mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    for _ in range(3):
        mocked.get(URL, body=exc("slow"))
    with pytest.raises(APITimeoutError) as info:
        call()
    assert isinstance(info.value.__cause__, exc)
    assert len(sleeps) == 2


def test_connection_error_then_success(mocked: responses.RequestsMock, sleeps: list[float]) -> None:
    mocked.get(URL, body=requests.ConnectionError("reset"))
    mocked.get(URL, body=requests.ReadTimeout("slow"))
    mocked.get(URL, json={})
    assert call().status_code == 200
    assert sleeps == pytest.approx([0.1, 0.2])


def test_dropped_body_retried(mocked: responses.RequestsMock, sleeps: list[float]) -> None:
    mocked.get(URL, body=requests.exceptions.ChunkedEncodingError("cut"))
    mocked.get(URL, json={})
    assert call().status_code == 200


def test_no_retries_when_zero(mocked: responses.RequestsMock, sleeps: list[float]) -> None:
    mocked.get(URL, status=503)
    with pytest.raises(InternalServerError):
        call(max_retries=0)
    assert sleeps == []


def test_retry_after_seconds(mocked: responses.RequestsMock, sleeps: list[float]) -> None:
    mocked.get(URL, status=429, headers={"Retry-After": "7"})
    mocked.get(URL, status=503, headers={"Retry-After": "60"})
    mocked.get(URL, json={})
    call()
    assert sleeps == [7.0, 60.0]


def test_conflict_is_not_retried(mocked: responses.RequestsMock, sleeps: list[float]) -> None:
    mocked.post(URL, status=409, json={"title": "Bạn đã đánh giá phản ánh này."})
    with requests.Session() as session, pytest.raises(ConflictError):
        _http.request(session, "POST", URL, timeout=1, max_retries=2)
    assert len(mocked.calls) == 1 and sleeps == []


@pytest.mark.parametrize("status", [429, 503])
def test_a_wait_longer_than_the_cap_raises_at_once_with_the_true_figure(
    status: int, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    mocked.get(URL, status=status, headers={"Retry-After": "2700"})
    with pytest.raises(APIStatusError) as caught:
        call()
    assert len(mocked.calls) == 1 and sleeps == []
    if status == 429:
        assert isinstance(caught.value, RateLimitError)
        assert caught.value.retry_after == 2700.0


def test_retries_and_waits_are_logged_without_query_values(
    mocked: responses.RequestsMock, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    mocked.get(URL, status=503)
    mocked.get(URL, json={})
    caplog.set_level("INFO", logger="phanhoi")
    with requests.Session() as session:
        _http.request(session, "GET", URL, timeout=1, max_retries=2,
                      params={"contact": "0912345678"})
    [record] = [r for r in caplog.records if r.name == "phanhoi"]
    assert "GET /x: HTTP 503; retry 1 of 2 in 0.1 s" == record.getMessage()
    assert "0912345678" not in caplog.text


def test_post_never_follows_a_redirect(mocked: responses.RequestsMock) -> None:
    mocked.post(URL, status=307, headers={"Location": "https://elsewhere.test/x"})
    with requests.Session() as session, pytest.raises(APIStatusError) as caught:
        _http.request(session, "POST", URL, timeout=1, max_retries=2,
                      headers={"Authorization": "Bearer sk_x"}, data=b"{}")
    assert caught.value.status_code == 307 and "elsewhere.test" in str(caught.value)
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    ("url", "refused"),
    [("http://relay.example.vn", True), ("https://relay.example.vn", False),
     ("http://127.0.0.1:5000", False), ("http://localhost:5000", False), ("http://[::1]:5000", False),
     ("http://10.0.0.5:5000", True)],
)
def test_a_secret_is_not_sent_in_clear_text_to_another_machine(url: str, refused: bool) -> None:
    from phanhoi.errors import PhanHoiError

    if refused:
        with pytest.raises(PhanHoiError, match="plain http"):
            _http.checked_url(url, sends_secret=True)
        assert _http.checked_url(url, sends_secret=True, allow_http=True) == url
    else:
        assert _http.checked_url(url, sends_secret=True) == url


def test_retry_after_http_date(mocked: responses.RequestsMock, sleeps: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    past = email.utils.formatdate(time.time() - 100, usegmt=True)
    mocked.get(URL, status=503, headers={"Retry-After": when})
    mocked.get(URL, status=503, headers={"Retry-After": past})
    mocked.get(URL, json={})
    call()
    assert 17 <= sleeps[0] <= 20.5
    assert sleeps[1] == 0.0


def test_invalid_retry_after_falls_back_to_backoff(
    mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    mocked.get(URL, status=503, headers={"Retry-After": "soon"})
    mocked.get(URL, json={})
    call()
    assert sleeps == pytest.approx([0.1])


def test_user_agent_and_non_retryable_error(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=400)
    with pytest.raises(BadRequestError):
        call()
    assert mocked.calls[0].request.headers["User-Agent"] == "phanhoi-python/0.1.0"


def test_make_headers_called_each_attempt(
    mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    mocked.post(URL, status=500)
    mocked.post(URL, status=201)
    counter = iter(range(10))
    with requests.Session() as session:
        _http.request(
            session,
            "POST",
            URL,
            timeout=1,
            max_retries=2,
            headers={"X-Fixed": "a"},
            make_headers=lambda: {"X-Attempt": str(next(counter))},
        )
    assert [c.request.headers["X-Attempt"] for c in mocked.calls] == ["0", "1"]
    assert {c.request.headers["X-Fixed"] for c in mocked.calls} == {"a"}


def test_invalid_url_is_connection_error() -> None:
    with requests.Session() as session, pytest.raises(APIConnectionError):
        _http.request(session, "GET", "not a url", timeout=1, max_retries=2)
