"""One HTTP attempt and what its answer means, shared by the HTTP adapters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests
import requests.adapters
from phanhoi.errors import parse_retry_after as _parse

from widget_server.delivery.destinations.base import Result

#: Longest Retry-After we honour; beyond it the normal backoff decides.
RETRY_AFTER_CAP = 3600.0
#: 408 Request Timeout, 409 Conflict (an idempotent request still in flight),
#: 425 Too Early, 429 Too Many Requests: worth another try, as is every 5xx.
RETRYABLE = frozenset({408, 409, 425, 429})


def session(given: requests.Session | None = None, *, pool: int = 10) -> requests.Session:
    """The adapter's session (one per adapter), naming the relay in ``User-Agent``.

    A worker's delivery threads share it: it keeps ``pool`` connections per host (at least
    ``PHANHOI_OUTBOX_CONCURRENCY``, see ``pool_from``), so no thread opens one per request.
    """
    from widget_server import __version__

    http = given
    if http is None:
        http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(pool, 1))
        http.mount("http://", adapter)
        http.mount("https://", adapter)
    http.headers["User-Agent"] = f"phanhoi-widget/{__version__}"
    return http


def pool_from(config: Mapping[str, Any]) -> int:
    """Connections an adapter keeps per host: one per delivery thread, and never fewer than 10."""
    return max(10, int(config.get("OUTBOX_CONCURRENCY") or 1))


def timeout_from(config: Mapping[str, Any]) -> tuple[float, float]:
    """(connect, read) seconds from ``PHANHOI_HTTP_TIMEOUT``."""
    read = float(config.get("HTTP_TIMEOUT") or 10.0)
    return (min(read, 5.0), read)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (RFC 9110 §10.2.3: delay-seconds or HTTP-date)."""
    return _parse(value, now=now, cap=RETRY_AFTER_CAP)


def classify(status: int) -> str:
    if 200 <= status < 300:
        return "delivered"
    if status in (401, 403):
        return "pause"
    if status == 410:
        return "disable"
    if status in RETRYABLE or status >= 500:
        return "retry"
    if 300 <= status < 400:
        return "retry"  # a moved endpoint is a configuration error an operator fixes
    return "rejected"


def short(value: Any) -> str | None:
    return str(value)[:100] if value not in (None, "") else None


def problem_title(response: requests.Response) -> str:
    if "json" not in response.headers.get("Content-Type", ""):
        return ""
    try:
        answer = response.json()
    except ValueError:
        return ""
    title = answer.get("title") if isinstance(answer, dict) else None
    return f": {str(title)[:200]}" if title else ""


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def attempt(session: requests.Session, url: str, *, timeout: Any,
            on_success: Callable[[requests.Response], Result],
            on_failure: Callable[[requests.Response, Result], Result] | None = None,
            **request: Any) -> Result:
    """POST once; never raises for network or HTTP failures, reports them as a Result.

    ``on_failure`` may read an error answer and return another Result, for
    protocols whose errors say more than their status (Open311's
    "400 General Service Error").
    """
    try:
        response = session.post(url, timeout=timeout, allow_redirects=False, **request)
    except requests.Timeout:
        return Result("retry", error="timeout")
    except requests.ConnectionError:
        return Result("retry", error="connection failed")
    except requests.RequestException as exc:
        return Result("retry", error=f"request failed: {type(exc).__name__}")
    with response:
        status = response.status_code
        outcome = classify(status)
        if outcome == "delivered":
            return on_success(response)
        # Only the status and the problem title are kept: bodies may echo personal data.
        failed = Result(outcome, status=status,  # type: ignore[arg-type]
                        retry_after=parse_retry_after(response.headers.get("Retry-After")),
                        error=f"HTTP {status}" + problem_title(response))
        return on_failure(response, failed) if on_failure else failed
