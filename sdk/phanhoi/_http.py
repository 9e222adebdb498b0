"""The one retry layer shared by ``Client`` and ``central.EventSender``.

Retried: connection errors, timeouts, and 408/429/5xx answers (not 409: a
conflict does not go away by asking again). The wait is the server's
``Retry-After`` (seconds or HTTP-date) when given, else ``_backoff(attempt)``;
when the server asks for longer than ``RETRY_AFTER_CAP`` the error is raised at
once with the server's true figure instead of blocking the caller. Every other
outcome is translated into the error tree in ``errors`` here and nowhere else.
POSTs are only safe to retry because the callers send a stable
``Idempotency-Key`` / ``webhook-id``; they never follow redirects. Retries and
waits are logged on the ``phanhoi`` logger (method, path and status only).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import requests

from ._version import __version__
from .errors import (
    RETRY_AFTER_CAP,
    APIConnectionError,
    APIStatusError,
    PhanHoiError,
    connection_error_from,
    parse_retry_after,
    status_error_from_response,
)

log = logging.getLogger("phanhoi")

USER_AGENT = f"phanhoi-python/{__version__}"
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
DEFAULT_MAX_RETRIES = 2
RETRY_STATUSES = frozenset({408, 429})
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


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(url: str, *, sends_secret: bool, allow_http: bool = False) -> str:
    """``url`` without a trailing slash; refuses anything but http(s), and plain http to
    another machine when a secret would travel in clear text (``allow_http`` to
    accept it, e.g. inside a private network)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PhanHoiError(f"relay URL must be an http(s) URL, got {url!r}")
    if sends_secret and parts.scheme == "http" and not allow_http and not is_loopback(parts.hostname):
        raise PhanHoiError(
            f"refusing to send the secret key over plain http:// to {parts.hostname}: "
            "use https:// (or allow_http=True inside a private network)"
        )
    return url.rstrip("/")


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
    path = urlsplit(url).path
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
                # A redirected POST turns into a GET, or re-sends the body and the
                # secret to wherever the Location points: never follow one.
                allow_redirects=method.upper() in ("GET", "HEAD"),
            )
        except (
            requests.Timeout,
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,  # connection dropped mid-body
        ) as e:
            if attempt < max_retries:
                wait = _backoff(attempt)
                log.warning(
                    "%s %s: %s; retry %d of %d in %.1f s",
                    method, path, type(e).__name__, attempt + 1, max_retries, wait,
                )
                time.sleep(wait)
                attempt += 1
                continue
            raise connection_error_from(e) from e
        except requests.RequestException as e:  # invalid URL, too many redirects...
            raise APIConnectionError(f"request failed: {e}") from e

        if 300 <= response.status_code < 400 and response.status_code != 304:
            where = response.headers.get("Location", "?")
            response.close()
            raise APIStatusError(
                f"HTTP {response.status_code}: the relay redirects {method} {path} to {where}; "
                "use the final address as the relay URL",
                status_code=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
            )
        if response.status_code < 400:
            return response
        if attempt < max_retries and _should_retry_status(response.status_code):
            asked = parse_retry_after(response.headers.get("Retry-After"), cap=math.inf)
            if asked is not None and asked > RETRY_AFTER_CAP:
                # Blocking the caller for longer helps nobody: say how long, now.
                log.warning(
                    "%s %s: HTTP %d, the relay asks to wait %.0f s; not retrying",
                    method, path, response.status_code, asked,
                )
                raise status_error_from_response(response)
            wait = _backoff(attempt) if asked is None else asked
            log.warning(
                "%s %s: HTTP %d; retry %d of %d in %.1f s",
                method, path, response.status_code, attempt + 1, max_retries, wait,
            )
            response.close()
            time.sleep(wait)
            attempt += 1
            continue
        raise status_error_from_response(response)
