"""Open311 GeoReport v2 adapter: for city back-ends that speak it (FixMyStreet, SeeClickFix, …).

A site registered with ``--destination open311`` has its submissions posted to
``{OPEN311_URL}/requests.json`` (GeoReport v2 "POST Service Request",
form-encoded UTF-8, said so in ``Content-Type``). Categories map to the
back-end's ``service_code`` through ``PHANHOI_OPEN311_SERVICE_CODES``.

What the spec asks of a request, and how the relay meets it:

- A location: ``lat`` + ``long``, ``address_string`` or ``address_id``. The
  relay sends ``address_string`` built from the street line, the commune and
  its province, and the coordinates when it has them; a submission that names
  no place at all gets ``PHANHOI_OPEN311_AREA`` (the area the back-end serves).
- ``description`` of at most 4,000 characters: a longer text is cut and ends
  with a marker saying how long the whole text is and the outbox id under
  which the relay keeps it (:func:`clip`).
- Errors come as ``[{"code", "description"}]``; they are kept in the outbox
  row's ``last_error``. "400 General Service Error" means the back-end failed,
  not the request: it is retried like a 5xx.
- A back-end that cannot give an id at once answers a ``token``; it is
  resolved through ``GET tokens/{token}.json`` (now, or later by
  ``phanhoi-widget open311 sync``, which also reads statuses back).

What is public. GeoReport v2 back-ends serve ``description``,
``address_string``/``lat``/``long`` and ``media_url`` to anyone
(``GET requests.json``); ``first_name``, ``last_name``, ``email``, ``phone``
and ``attribute[…]`` are kept private. So names and contacts go only in the
private fields, and the tracking code (with the contact, the key to a
citizen's lookup) is never sent. For a confidential submission ("không công
khai thông tin cá nhân") nothing else that may point at the citizen is
public: no ``media_url`` (a photo may show them or their home), no street line
in ``address_string`` (on our form it is "Số nhà, thôn, tổ dân phố…", often
the citizen's own house: it goes in ``attribute[phanhoi_address]``), and
coordinates rounded to 3 decimals (about 100 m): enough to send a crew, not
enough to single out a house.

What GeoReport v2 cannot carry: it has no idempotency key (the outbox id goes
in ``attribute[phanhoi_id]`` so an operator can drop a duplicate after a retry
that followed a lost answer), no ratings (dropped: they carry no personal
data) and no data-subject requests (refused on purpose, so they end up
``dead`` in ``phanhoi-widget outbox list --state dead`` for an operator to act on).
"""

from __future__ import annotations

import dataclasses
import json
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

import requests

from widget_server.delivery.destinations.base import Event, Result
from widget_server.delivery.destinations import http
from widget_server.delivery.destinations.http import attempt, json_or_none, read_answer, short

REQUESTS_PATH = "/requests.json"
#: GeoReport v2: "free form text limited to 4,000 characters".
DESCRIPTION_MAX = 4000
#: Decimals kept of a confidential submission's coordinates (3: about 100 m).
CONFIDENTIAL_DECIMALS = 3
FORM_TYPE = "application/x-www-form-urlencoded; charset=utf-8"


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


def place_names(commune_code: Any) -> tuple[str | None, str | None]:
    """(commune, province) names for an official commune code, or (None, None) if unknown."""
    if not commune_code:
        return None, None
    from vietnam_provinces import Province, Ward, WardCode

    try:
        ward = Ward.from_code(WardCode(int(str(commune_code))))
    except ValueError:
        return None, None
    return ward.name, Province.from_code(ward.province_code).name


def address_string(street: str | None, commune_code: Any, area: str | None, *,
                   has_point: bool = False) -> str | None:
    """Street line, commune and province, as a back-end's geocoder reads them.

    With neither, the area the back-end serves, unless coordinates already locate the request.
    """
    commune, province = place_names(commune_code)
    parts = [p.strip() for p in (street, commune, province or (area if street else None)) if p and p.strip()]
    return ", ".join(parts) or (None if has_point else area) or None


def clip(text: str, ref: str, limit: int = DESCRIPTION_MAX) -> str:
    """``text`` within ``limit`` characters; a cut text says so, with its length and where it is kept.

    The marker names the outbox id, not the tracking code: the description is public.
    """
    if len(text) <= limit:
        return text
    marker = f"\n[…] (đã cắt: toàn văn {len(text)} ký tự, lưu tại hệ thống chuyển tiếp, mã {ref})"
    return text[: limit - len(marker)].rstrip() + marker


def georeport_errors(response: requests.Response,
                     known: Iterable[str | None] = ()) -> list[dict[str, str]]:
    """The back-end's ``[{"code", "description"}]``, personal data masked (``http.masked``:
    phone numbers, emails, ID numbers, and the ``known`` details of the person).

    An error may echo a field it refused; what is kept is stored and logged.
    """
    answer = json_or_none(response)
    if isinstance(answer, dict):
        answer = answer.get("errors", [answer])
    if not isinstance(answer, list):
        return []
    errors = []
    for item in answer[:5]:
        if isinstance(item, dict):
            text = str(item.get("description") or "")[:160]
            text = http.masked(text, known)
            errors.append({"code": str(item.get("code") or "")[:40], "description": text})
    return errors


def is_general_service_error(errors: list[dict[str, str]]) -> bool:
    """GeoReport v2: "400 - General Service error (any failure during service query processing)"."""
    return any("general service error" in (e["description"] + " " + e["code"]).lower().replace("_", " ")
               for e in errors)


@dataclasses.dataclass(frozen=True)
class RemoteStatus:
    """What ``GET requests/{id}.json`` says of one service request."""

    service_request_id: str
    status: str  # open | closed
    notes: str | None
    agency: str | None
    updated: str | None


#: How a central_id that is still a batch token (not yet a service_request_id) is stored.
UNRESOLVED_PREFIX = "token:"


class Open311Destination:
    name = "open311"

    def __init__(self, base_url: str, *, api_key: str | None = None,
                 jurisdiction_id: str | None = None, service_codes: Mapping[str, str] | None = None,
                 area: str | None = None, timeout: float | tuple[float, float] = 10.0,
                 session: requests.Session | None = None) -> None:
        if not base_url:
            raise ValueError("PHANHOI_OPEN311_URL is not set")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.jurisdiction_id = jurisdiction_id
        self.service_codes = dict(service_codes or {})
        self.area = area
        self.timeout = timeout
        self._session = http.session(session)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Open311Destination:
        return cls(str(config.get("OPEN311_URL") or ""),
                   api_key=config.get("OPEN311_API_KEY") or None,
                   jurisdiction_id=config.get("OPEN311_JURISDICTION_ID") or None,
                   service_codes=parse_service_codes(config.get("OPEN311_SERVICE_CODES")),
                   area=config.get("OPEN311_AREA") or None, timeout=http.timeout_from(config),
                   session=http.session(pool=http.pool_from(config)))

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
        confidential = bool(data.get("confidential"))
        first, last = split_name(submitter.get("name"))
        title, content = str(data.get("title") or ""), str(data.get("content") or "")
        lat, lon = location.get("lat"), location.get("lon")
        if lat is None or lon is None:
            lat = lon = None
        elif confidential:
            lat, lon = round(float(lat), CONFIDENTIAL_DECIMALS), round(float(lon), CONFIDENTIAL_DECIMALS)
        street = location.get("address")
        fields: dict[str, Any] = {
            "service_code": code,
            "description": clip(f"{title}\n\n{content}" if title else content, event.id),
            "lat": lat,
            "long": lon,
            "address_string": address_string(None if confidential else street,
                                              location.get("commune_code"), self.area,
                                              has_point=lat is not None),
            # Private in GeoReport v2: never in GET requests.
            "first_name": first,
            "last_name": last,
            "phone": submitter.get("phone"),
            "email": submitter.get("email"),
            "api_key": self.api_key,
            "jurisdiction_id": self.jurisdiction_id,
            "attribute[phanhoi_id]": event.id,
        }
        if confidential and street:
            fields["attribute[phanhoi_address]"] = street
        files = data.get("attachments") or []
        if not confidential and files and isinstance(files[0], dict) and files[0].get("url"):
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
                remote = first.get("service_request_id")
                if not remote and first.get("token"):
                    token = str(first["token"])
                    # Resolved now if the back-end is quick; otherwise ``open311 sync`` does it.
                    remote = self.resolve_token(token) or UNRESOLVED_PREFIX + token
            return Result("delivered", status=response.status_code, remote_id=short(remote))

        def refused(response: requests.Response, failed: Result) -> Result:
            errors = georeport_errors(response, http.known_in(event.data))
            if not errors:
                return failed
            said = json.dumps(errors, ensure_ascii=False)[:400]
            if response.status_code == 400 and is_general_service_error(errors):
                return dataclasses.replace(failed, outcome="retry", error=f"HTTP 400 {said}")
            return dataclasses.replace(failed, error=f"HTTP {response.status_code} {said}")

        body = urllib.parse.urlencode(form, encoding="utf-8").encode("ascii")
        return attempt(self._session, self.base_url + REQUESTS_PATH, timeout=self.timeout,
                       on_success=acknowledged, on_failure=refused, data=body,
                       headers={"Accept": "application/json", "Content-Type": FORM_TYPE})

    # ------------------------------------------------------------------ reading back

    def _get(self, path: str) -> Any:
        """GET a GeoReport resource; its JSON, or None on any failure (the next sync tries again)."""
        params = {"jurisdiction_id": self.jurisdiction_id} if self.jurisdiction_id else None
        try:
            response = self._session.get(self.base_url + path, params=params, timeout=self.timeout,
                                         headers={"Accept": "application/json"}, allow_redirects=False, stream=True)
            read_answer(response)  # at most MAX_ANSWER_BYTES, as a delivery's answer
        except requests.RequestException:
            return None
        with response:
            return json_or_none(response) if response.status_code == 200 else None

    def resolve_token(self, token: str) -> str | None:
        """``GET tokens/{token}.json``: the service_request_id, once the back-end has made one."""
        answer = self._get(f"/tokens/{urllib.parse.quote(token, safe='')}.json")
        first = answer[0] if isinstance(answer, list) and answer else answer
        found = first.get("service_request_id") if isinstance(first, dict) else None
        return str(found) if found not in (None, "") else None

    def fetch_status(self, service_request_id: str) -> RemoteStatus | None:
        """``GET requests/{id}.json``: the request's status (open/closed) and notes."""
        answer = self._get(f"/requests/{urllib.parse.quote(service_request_id, safe='')}.json")
        first = answer[0] if isinstance(answer, list) and answer else answer
        if not isinstance(first, dict) or str(first.get("status") or "").lower() not in ("open", "closed"):
            return None
        notes = str(first.get("status_notes") or "").strip() or None
        agency = str(first.get("agency_responsible") or "").strip()[:200] or None
        return RemoteStatus(service_request_id, str(first["status"]).lower(), notes, agency,
                            str(first.get("updated_datetime") or "") or None)
