"""The one retry layer shared by ``Client`` and ``central.EventSender``.

Retried: connection errors, timeouts, and 408/409/429/5xx answers. The wait is
the server's ``Retry-After`` (seconds or HTTP-date, capped) when given, else
``_backoff(attempt)``. Every other outcome is translated into the error tree in
``errors`` here and nowhere else. POSTs are only safe to retry because the
callers send a stable ``Idempotency-Key`` / ``webhook-id``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import requests

from ._version import __version__
from .errors import (
    APIConnectionError,
    connection_error_from,
    parse_retry_after,
    status_error_from_response,
)

USER_AGENT = f"phanhoi-python/{__version__}"
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
DEFAULT_MAX_RETRIES = 2
RETRY_STATUSES = frozenset({408, 409, 429})
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0

Timeout = float | tuple[float, float]


def _backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): exponential
    with "equal jitter", so synchronized clients spread out but never hammer."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2**attempt))
    return float(ceiling / 2 + random.uniform(0, ceiling / 2))


def _should_retry_status(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


class SessionOwner:
    """One ``requests.Session`` per object, closed with it unless the caller passed their own."""

    def __init__(
        self, *, timeout: Timeout, max_retries: int, session: requests.Session | None
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.timeout = timeout
        self.max_retries = max_retries
        self._owns_session = session is None
        self._session = session if session is not None else new_session()

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: Timeout,
    max_retries: int,
    headers: Mapping[str, str] | None = None,
    make_headers: Callable[[], Mapping[str, str]] | None = None,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    data: bytes | None = None,
    files: list[tuple[str, tuple[str | None, bytes, str]]] | None = None,
) -> requests.Response:
    """Send with retries; return a 2xx/3xx response or raise a ``PhanHoiError``.

    ``make_headers`` is called before every attempt (webhook signatures need a
    fresh timestamp); ``headers`` are sent unchanged on every attempt."""
    attempt = 0
    while True:
        send_headers: dict[str, str] = {"User-Agent": USER_AGENT}
        send_headers.update(headers or {})
        if make_headers is not None:
            send_headers.update(make_headers())
        try:
            response = session.request(
                method,
                url,
                headers=send_headers,
                params=params,
                json=json,
                data=data,
                files=files,
                timeout=timeout,
            )
        except (
            requests.Timeout,
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,  # connection dropped mid-body
        ) as e:
            if attempt < max_retries:
                time.sleep(_backoff(attempt))
                attempt += 1
                continue
            raise connection_error_from(e) from e
        except requests.RequestException as e:  # invalid URL, too many redirects...
            raise APIConnectionError(f"request failed: {e}") from e

        if response.status_code < 400:
            return response
        if attempt < max_retries and _should_retry_status(response.status_code):
            delay = parse_retry_after(response.headers.get("Retry-After"))
            response.close()
            time.sleep(_backoff(attempt) if delay is None else delay)
            attempt += 1
            continue
        raise status_error_from_response(response)
