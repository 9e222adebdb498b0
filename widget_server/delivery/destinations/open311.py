"""Open311 GeoReport v2 adapter: for city back-ends that speak it (FixMyStreet, SeeClickFix, …).

A site registered with ``--destination open311`` has its submissions posted to
``{OPEN311_URL}/requests.json`` (GeoReport v2 "POST Service Request",
form-encoded). Categories map to the back-end's ``service_code`` through
``PHANHOI_OPEN311_SERVICE_CODES``.

What GeoReport v2 cannot carry, and how the relay copes:

- It has no idempotency key. The relay's tracking code and outbox id go into
  the description and ``attribute[phanhoi_id]`` so an operator (or a back-end
  that keeps attributes) can drop a duplicate after a retry that followed a lost
  answer.
- It has no ratings or data-subject requests: ratings are dropped (they carry no
  personal data); data requests are refused on purpose, so they end up ``dead``
  in ``phanhoi-widget outbox list --state dead`` for an operator to act on.
- Status changes are not pushed back; the relay's lookup shows ``forwarded``
  until the back-end sends events to ``/api/v1/central/events``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from widget_server.delivery.destinations.base import Event, Result
from widget_server.delivery.destinations import http
from widget_server.delivery.destinations.http import attempt, json_or_none, short

REQUESTS_PATH = "/requests.json"


def parse_service_codes(value: Any) -> dict[str, str]:
    """``{"moi-truong": "ENV"}`` as JSON, or ``moi-truong=ENV,giao-thong=ROAD``."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    text = str(value).strip()
    if text.startswith("{"):
        loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError("PHANHOI_OPEN311_SERVICE_CODES must map categories to codes")
        return {str(k): str(v) for k, v in loaded.items()}
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if any(len(p) != 2 for p in pairs):
        raise ValueError("PHANHOI_OPEN311_SERVICE_CODES: use category=code,category=code")
    return {k.strip(): v.strip() for k, v in pairs}


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """Vietnamese names put the family name first: "Lê Văn An" → first "An", last "Lê Văn"."""
    if not name:
        return None, None
    parts = name.split()
    if len(parts) == 1:
        return parts[0], None
    return parts[-1], " ".join(parts[:-1])


class Open311Destination:
    name = "open311"

    def __init__(self, base_url: str, *, api_key: str | None = None,
                 jurisdiction_id: str | None = None, service_codes: Mapping[str, str] | None = None,
                 timeout: float | tuple[float, float] = 10.0,
                 session: requests.Session | None = None) -> None:
        if not base_url:
            raise ValueError("PHANHOI_OPEN311_URL is not set")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.jurisdiction_id = jurisdiction_id
        self.service_codes = dict(service_codes or {})
        self.timeout = timeout
        self._session = http.session(session)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Open311Destination:
        return cls(str(config.get("OPEN311_URL") or ""),
                   api_key=config.get("OPEN311_API_KEY") or None,
                   jurisdiction_id=config.get("OPEN311_JURISDICTION_ID") or None,
                   service_codes=parse_service_codes(config.get("OPEN311_SERVICE_CODES")),
                   timeout=http.timeout_from(config))

    def close(self) -> None:
        self._session.close()

    def form(self, event: Event) -> dict[str, str] | None:
        """The GeoReport v2 fields for a submission, or None when its category has no code."""
        data = event.data
        code = self.service_codes.get(str(data.get("category")), self.service_codes.get("*"))
        if not code:
            return None
        location = data.get("location") or {}
        submitter = data.get("submitter") or {}
        first, last = split_name(submitter.get("name"))
        description = (f"{data.get('title', '')}\n\n{data.get('content', '')}\n\n"
                       f"[{data.get('tracking_code', '')} · {event.id}]")
        fields: dict[str, Any] = {
            "service_code": code,
            "description": description,
            "lat": location.get("lat"),
            "long": location.get("lon"),
            "address_string": location.get("address"),
            "first_name": first,
            "last_name": last,
            "phone": submitter.get("phone"),
            "email": submitter.get("email"),
            "api_key": self.api_key,
            "jurisdiction_id": self.jurisdiction_id,
            "attribute[phanhoi_id]": event.id,
        }
        files = data.get("attachments") or []
        if files and isinstance(files[0], dict) and files[0].get("url"):
            fields["media_url"] = files[0]["url"]  # GeoReport v2 takes one media URL
        return {k: str(v) for k, v in fields.items() if v not in (None, "")}

    def deliver(self, event: Event) -> Result:
        if event.type == "submission.rated":
            return Result("delivered", error="not carried by Open311")
        if event.type != "submission.created":
            return Result("rejected", error=f"{event.type} is not carried by Open311: act on it by hand")
        form = self.form(event)
        if form is None:
            return Result("rejected", error=f"no Open311 service_code for category "
                                            f"{str(event.data.get('category'))[:64]!r}")

        def acknowledged(response: requests.Response) -> Result:
            answer = json_or_none(response)
            first = answer[0] if isinstance(answer, list) and answer else answer
            remote = None
            if isinstance(first, dict):
                remote = first.get("service_request_id") or first.get("token")
            return Result("delivered", status=response.status_code, remote_id=short(remote))

        return attempt(self._session, self.base_url + REQUESTS_PATH, timeout=self.timeout,
                       on_success=acknowledged, data=form, headers={"Accept": "application/json"})
