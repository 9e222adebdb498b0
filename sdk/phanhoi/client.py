"""HTTP client for a Phản hồi Widget relay (server-side partners: newspaper CMS,
agencies' portals, scripts)."""

from __future__ import annotations

import json
import mimetypes
import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import requests

from . import _http
from .errors import PhanHoiError
from .models import SiteConfig, SubmissionCreate, SubmissionReceipt, SubmissionStatus

__all__ = ["DEFAULT_BASE_URL", "Client", "FileInput"]

DEFAULT_BASE_URL = "http://localhost:5000"

#: An attachment: a path, or ``(filename, content, content_type)``.
FileInput = str | os.PathLike[str] | tuple[str, bytes, str]

#: What a citizen may ask of their submission's data: the first two are forwarded to the
#: central system; ``withdraw_notify`` ends the consent to be told of the answer, on the relay.
DataRequestKind = Literal["withdraw_consent", "delete", "withdraw_notify"]
_DATA_REQUEST_KINDS = ("withdraw_consent", "delete", "withdraw_notify")


def _setting(value: str | None, env: str, default: str | None = None) -> str | None:
    if value:
        return value
    return os.environ.get(env) or default


class Client(_http.SessionOwner):
    """A client for one relay and (optionally) one site.

    Settings resolve argument → environment (``PHANHOI_BASE_URL``,
    ``PHANHOI_SITE_KEY``, ``PHANHOI_SITE_SECRET``) → default. ``timeout`` is
    ``(connect, read)`` seconds; ``max_retries`` counts retries after the first
    attempt. Use as a context manager or call ``close()``; a ``session`` passed
    in is left open for its owner. The secret key is only ever sent over
    ``https://`` or to this machine, unless ``allow_http=True``.

    >>> with Client("https://phananh.baothanhhoa.vn", "site_abc", "sk_...") as client:
    ...     receipt = client.submit(submission)
    ...     print(receipt.tracking_code)
    """

    def __init__(
        self,
        base_url: str | None = None,
        site_key: str | None = None,
        secret_key: str | None = None,
        *,
        timeout: _http.Timeout = _http.DEFAULT_TIMEOUT,
        max_retries: int = _http.DEFAULT_MAX_RETRIES,
        session: requests.Session | None = None,
        allow_http: bool = False,
    ) -> None:
        super().__init__(timeout=timeout, max_retries=max_retries, session=session)
        resolved = _setting(base_url, "PHANHOI_BASE_URL", DEFAULT_BASE_URL)
        assert resolved is not None
        self.base_url = _http.checked_url(resolved, sends_secret=False)
        #: Send the secret key over plain ``http://`` to another machine (a private network).
        self.allow_http = allow_http
        self.site_key = _setting(site_key, "PHANHOI_SITE_KEY")
        self.secret_key = _setting(secret_key, "PHANHOI_SITE_SECRET")

    def __repr__(self) -> str:  # never show the secret key
        return f"Client(base_url={self.base_url!r}, site_key={self.site_key!r})"

    # -- API ---------------------------------------------------------------------

    def site_config(self, site_key: str | None = None) -> SiteConfig:
        """Public configuration of a site: categories, agencies, communes, consent."""
        key = site_key or self._require(self.site_key, "site_key", "PHANHOI_SITE_KEY")
        response = self._request("GET", f"/api/v1/sites/{_seg(key)}/config")
        return SiteConfig.from_dict(_json_object(response))

    def submit(
        self,
        submission: SubmissionCreate | Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
        files: Sequence[FileInput] | None = None,
    ) -> SubmissionReceipt:
        """Create a submission (authenticated with the site secret key).

        One ``Idempotency-Key`` is used for every retry of this call, so a retry
        after a lost answer cannot create a second submission; pass your own key
        (e.g. your CMS row id) to make it stable across processes too. With
        ``files`` the request is multipart: a ``submission`` JSON part plus one
        ``files`` part per attachment."""
        secret = self._require(self.secret_key, "secret_key", "PHANHOI_SITE_SECRET")
        _http.checked_url(self.base_url, sends_secret=True, allow_http=self.allow_http)
        body = (
            submission.to_dict() if isinstance(submission, SubmissionCreate) else dict(submission)
        )
        key = idempotency_key or str(uuid.uuid4())
        headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": key}
        if files:
            # Read attachments once, before the retry loop, so every attempt sends
            # the same bytes.
            parts: list[tuple[str, tuple[str | None, bytes, str]]] = [
                (
                    "submission",
                    (None, json.dumps(body, ensure_ascii=False).encode(), "application/json"),
                )
            ]
            parts.extend(("files", _load_file(f)) for f in files)
            response = self._request("POST", "/api/v1/submissions", headers=headers, files=parts)
        else:
            response = self._request("POST", "/api/v1/submissions", headers=headers, json=body)
        replayed = response.headers.get("Idempotent-Replayed", "").strip().lower() == "true"
        return SubmissionReceipt.from_dict(_json_object(response), replayed=replayed)

    def status(self, tracking_code: str, contact: str) -> SubmissionStatus:
        """Status, history and answer of a submission. ``contact`` is the phone or
        email given at submission (the relay answers 404 for any mismatch)."""
        # The contact goes in the body: URLs (with their query strings) end up in proxies' logs.
        response = self._request(
            "POST", f"/api/v1/submissions/{_seg(tracking_code)}/lookup", json={"contact": contact}
        )
        return SubmissionStatus.from_dict(_json_object(response))

    def rate(
        self,
        tracking_code: str,
        contact: str,
        satisfied: bool,
        comment: str | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Record the citizen's satisfaction with the answer; returns the relay's JSON
        (the lookup shape). One ``Idempotency-Key`` covers every retry of the call, so a
        retry after a lost answer gets the first answer, not "already rated"."""
        response = self._request(
            "POST",
            f"/api/v1/submissions/{_seg(tracking_code)}/rating",
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
            json={"contact": contact, "satisfied": bool(satisfied), "comment": comment},
        )
        return _json_object(response, allow_empty=True)

    def data_request(
        self,
        tracking_code: str,
        contact: str,
        kind: DataRequestKind,
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Withdraw consent (``withdraw_consent``) or ask for deletion (``delete``)
        of the personal data in a submission, or stop the notice of the answer
        (``withdraw_notify``, kept by the relay, not forwarded); returns the relay's JSON.
        Retries carry one ``Idempotency-Key``, so the central system is told once."""
        if kind not in _DATA_REQUEST_KINDS:
            raise ValueError(f"kind must be one of {_DATA_REQUEST_KINDS}")
        response = self._request(
            "POST",
            f"/api/v1/submissions/{_seg(tracking_code)}/data-request",
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
            json={"contact": contact, "kind": kind},
        )
        return _json_object(response, allow_empty=True)

    def results(
        self,
        *,
        site: str | None = None,
        category: str | None = None,
        agency: str | None = None,
        commune: str | None = None,
        q: str | None = None,
        since: date | str | None = None,
        until: date | str | None = None,
        page: int = 1,
        per_page: int = 20,
    ) -> dict[str, Any]:
        """Published results, newest answer first: ``{items, page, per_page, total, pages}``.
        ``q`` matches words with or without diacritics; a page past the end is empty."""
        params = {"site": site, "category": category, "agency": agency, "commune": commune,
                  "q": q, "since": _day(since), "until": _day(until),
                  "page": str(page), "per_page": str(per_page)}
        response = self._request(
            "GET", "/api/v1/results", params={k: v for k, v in params.items() if v}
        )
        return _json_object(response)

    def result(self, result_id: str) -> dict[str, Any]:
        """One published result (``NotFoundError`` when there is none, or it was withdrawn)."""
        return _json_object(self._request("GET", f"/api/v1/results/{_seg(result_id)}"))

    def scoreboard(
        self,
        *,
        site: str | None = None,
        since: date | str | None = None,
        until: date | str | None = None,
    ) -> dict[str, Any]:
        """Per agency and per category over published results: answered, on-time rate, median
        days, satisfaction where known, and the ``basis`` the figures are counted on."""
        params = {"site": site, "since": _day(since), "until": _day(until)}
        response = self._request(
            "GET", "/api/v1/scoreboard", params={k: v for k, v in params.items() if v}
        )
        return _json_object(response)

    # -- plumbing ----------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        files: list[tuple[str, tuple[str | None, bytes, str]]] | None = None,
    ) -> requests.Response:
        all_headers = {"Accept": "application/json"}
        all_headers.update(headers or {})
        return _http.request(
            self._session,
            method,
            self.base_url + path,
            timeout=self.timeout,
            max_retries=self.max_retries,
            headers=all_headers,
            params=params,
            json=json,
            files=files,
        )

    @staticmethod
    def _require(value: str | None, name: str, env: str) -> str:
        if not value:
            raise PhanHoiError(f"{name} is required: pass it to Client(...) or set {env}")
        return value


def _day(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _seg(value: str) -> str:
    """One URL path segment, percent-encoded (a code never escapes its segment). An empty one
    is refused, and ``.`` or ``..`` is sent as itself: as a path's dots, HTTP clients drop it
    and the request reaches another address."""
    if not value:
        raise ValueError("a tracking code, site key or result id cannot be empty")
    segment = quote(value, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def _load_file(item: FileInput) -> tuple[str, bytes, str]:
    if isinstance(item, tuple):
        name, content, content_type = item
        return name, content, content_type
    path = Path(item)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path.name, path.read_bytes(), content_type


def _json_object(response: requests.Response, *, allow_empty: bool = False) -> dict[str, Any]:
    if allow_empty and not response.content:
        return {}
    try:
        data = response.json()
    except ValueError as e:
        raise PhanHoiError(f"relay answered HTTP {response.status_code} without a JSON body") from e
    if not isinstance(data, dict):
        raise PhanHoiError(f"relay answered HTTP {response.status_code} with non-object JSON")
    return data
