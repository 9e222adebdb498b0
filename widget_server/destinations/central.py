"""The central system adapter: this project's forward protocol over HTTP.

``submission.created`` goes to ``{CENTRAL_URL}/intake/v1/submissions``; every other
event the relay sends (``submission.rated``, ``submission.data_request``) to
``{CENTRAL_URL}/intake/v1/events``. Each attempt is signed with Standard Webhooks:
``webhook-id`` is the outbox id on every attempt (receivers drop duplicates by
it), ``webhook-timestamp`` is fresh so a late retry stays inside the receiver's
tolerance, and ``Idempotency-Key`` repeats the id for receivers that key on it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from phanhoi.webhooks import sign_headers

from .. import __version__
from ..config import secret_list
from .base import Event, Result

SUBMISSIONS_PATH = "/intake/v1/submissions"
EVENTS_PATH = "/intake/v1/events"
#: Longest Retry-After we honour; beyond it the normal backoff decides.
RETRY_AFTER_CAP = 3600.0
#: 408 Request Timeout, 409 Conflict (an idempotent request still in flight),
#: 425 Too Early, 429 Too Many Requests: worth another try, as is every 5xx.
RETRYABLE = frozenset({408, 409, 425, 429})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (RFC 9110 §10.2.3: delay-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


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


class CentralDestination:
    """Standard Webhooks HTTP delivery to a central system."""

    name = "central"

    def __init__(
        self,
        base_url: str,
        secrets: str | Sequence[str],
        *,
        timeout: float | tuple[float, float] = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("PHANHOI_CENTRAL_URL is not set")
        self.base_url = base_url.rstrip("/")
        self.secrets = secret_list(secrets)
        if not self.secrets:
            raise ValueError("PHANHOI_CENTRAL_SECRET is not set")
        self.timeout = timeout
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = f"phanhoi-widget/{__version__}"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CentralDestination:
        timeout = float(config.get("HTTP_TIMEOUT") or 10.0)
        return cls(str(config.get("CENTRAL_URL") or ""), config.get("CENTRAL_SECRET") or "",
                   timeout=(min(timeout, 5.0), timeout))

    def close(self) -> None:
        self._session.close()

    def url_for(self, event_type: str) -> str:
        path = SUBMISSIONS_PATH if event_type == "submission.created" else EVENTS_PATH
        return self.base_url + path

    def body(self, event: Event) -> bytes:
        document = {
            "type": event.type,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "data": event.data,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def deliver(self, event: Event) -> Result:
        body = self.body(event)
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": event.id,
            **sign_headers(body, self.secrets, msg_id=event.id),
        }
        try:
            response = self._session.post(self.url_for(event.type), data=body, headers=headers,
                                          timeout=self.timeout, allow_redirects=False)
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
                remote_id = remote_status = None
                try:
                    answer = response.json()
                except ValueError:
                    answer = None
                if isinstance(answer, dict):
                    remote_id = _short(answer.get("central_id"))
                    remote_status = _short(answer.get("status"))
                return Result("delivered", status=status, remote_id=remote_id,
                              remote_status=remote_status)
            # Only the status and the problem title are kept: bodies may echo personal data.
            return Result(outcome, status=status,  # type: ignore[arg-type]
                          retry_after=parse_retry_after(response.headers.get("Retry-After")),
                          error=f"HTTP {status}" + _problem_title(response))


def _short(value: Any) -> str | None:
    return str(value)[:100] if value not in (None, "") else None


def _problem_title(response: requests.Response) -> str:
    if "json" not in response.headers.get("Content-Type", ""):
        return ""
    try:
        answer = response.json()
    except ValueError:
        return ""
    title = answer.get("title") if isinstance(answer, dict) else None
    return f": {str(title)[:200]}" if title else ""
