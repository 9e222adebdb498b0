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
import json
from collections.abc import Mapping, Sequence
from typing import Any

import requests
from phanhoi.webhooks import sign_headers

from widget_server.config import secret_list
from widget_server.delivery.destinations.base import Event, Result
from widget_server.delivery.destinations import http
from widget_server.delivery.destinations.http import (
    attempt,
    classify,
    json_or_none,
    parse_retry_after,
    short,
)

SUBMISSIONS_PATH = "/intake/v1/submissions"
EVENTS_PATH = "/intake/v1/events"

__all__ = ["CentralDestination", "classify", "parse_retry_after"]


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
        self._session = http.session(session)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CentralDestination:
        return cls(str(config.get("CENTRAL_URL") or ""), config.get("CENTRAL_SECRET") or "",
                   timeout=http.timeout_from(config),
                   session=http.session(pool=http.pool_from(config)))

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

        def acknowledged(response: requests.Response) -> Result:
            answer = json_or_none(response)
            answer = answer if isinstance(answer, dict) else {}
            return Result("delivered", status=response.status_code,
                          remote_id=short(answer.get("central_id")),
                          remote_status=short(answer.get("status")))

        return attempt(self._session, self.url_for(event.type), timeout=self.timeout,
                       on_success=acknowledged, known=http.known_in(event.data),
                       data=body, headers=headers)
