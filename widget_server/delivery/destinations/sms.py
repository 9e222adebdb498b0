"""Notices by SMS through an HTTP gateway (``PHANHOI_SMS_URL``).

An SMS gateway is an adapter behind the one destination interface (``base.py``);
this is the HTTP one, and ``examples/sms_gateway`` is a gateway it talks to. Each
attempt is ``POST {SMS_URL}`` with ``{"to": "+84…", "text": "…", "reference": id}``,
``Idempotency-Key: id`` (the outbox id, the same on every attempt) and, with
``PHANHOI_SMS_TOKEN``, ``Authorization: Bearer …``. The gateway sends a key once and
answers a repeat with the first answer, so retrying after a timeout, or after a
worker died mid-request, never sends the SMS twice. Statuses mean what they mean
for every HTTP adapter (``http.classify``): 5xx, 429 and timeouts retry, 401/403
pause, other 4xx are dead at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from widget_server.delivery.destinations import http
from widget_server.delivery.destinations.base import Event, Result


class SmsGatewayDestination:
    name = "notify-sms"

    def __init__(self, url: str, *, token: str | None = None,
                 timeout: float | tuple[float, float] = 10.0,
                 session: requests.Session | None = None) -> None:
        if not url or not url.startswith(("http://", "https://")):
            raise ValueError("PHANHOI_SMS_URL is not an http(s) URL")
        self.url = url
        self.token = token
        self.timeout = timeout
        self._session = http.session(session)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmsGatewayDestination:
        return cls(str(config.get("SMS_URL") or ""), token=config.get("SMS_TOKEN") or None,
                   timeout=http.timeout_from(config),
                   session=http.session(pool=http.pool_from(config)))

    def close(self) -> None:
        self._session.close()

    def deliver(self, event: Event) -> Result:
        headers = {"Idempotency-Key": event.id, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {"to": event.data["to"], "text": event.data["text"], "reference": event.id}

        def sent(response: requests.Response) -> Result:
            answer = http.json_or_none(response)
            remote = answer.get("id") if isinstance(answer, dict) else None
            return Result("delivered", status=response.status_code, remote_id=http.short(remote))

        return http.attempt(self._session, self.url, timeout=self.timeout, on_success=sent,
                            json=body, headers=headers)
