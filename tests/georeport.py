"""A strict Open311 GeoReport v2 back-end, served on loopback for the adapter's tests.

It checks what the spec (wiki.open311.org/GeoReport_v2) asks of a client and
answers as the spec says, errors included (``[{"code", "description"}]``):

- ``POST requests.json``: form-encoded; ``api_key`` when one is configured
  (403), ``jurisdiction_id`` when configured (400 missing, 404 unknown),
  ``service_code`` required and known (400, 404), a location: ``lat`` and
  ``long`` together, or ``address_string``, or ``address_id`` (400),
  ``description`` of at most 4,000 characters (400), ``media_url`` an http(s)
  URL. The body is decoded with the charset its ``Content-Type`` names and,
  naming none, as ISO-8859-1 (what servlet containers and HTML's form
  encoding assume), so a client that does not say UTF-8 gets mojibake.
- While ``down``: "400 General Service Error" for every request.
- With ``tokens=True`` it answers ``[{"token"}]``; ``GET tokens/{token}.json``
  gives the ``service_request_id`` once :meth:`GeoReportServer.release_tokens`
  has run (before that, the token alone).
- ``GET requests.json`` and ``GET requests/{id}.json`` serve requests to
  anyone, with the spec's public fields only; the personal fields
  (``first_name``, ``last_name``, ``email``, ``phone``) and attributes are
  stored but never served. :meth:`GeoReportServer.close` sets a status.
"""

from __future__ import annotations

import datetime as dt
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

DESCRIPTION_MAX = 4000
PUBLIC_FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code",
                 "description", "agency_responsible", "service_notice", "requested_datetime",
                 "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                 "lat", "long", "media_url")


def _error(status: int, description: str) -> Response:
    response = jsonify([{"code": status, "description": description}])
    response.status_code = status
    return response


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class GeoReportServer:
    def __init__(self, *, api_key: str | None = "key-1", jurisdiction_id: str | None = "thanhhoa.vn",
                 services: dict[str, str] | None = None, tokens: bool = False) -> None:
        self.api_key = api_key
        self.jurisdiction_id = jurisdiction_id
        self.services = services or {"ENV": "Môi trường", "OTHER": "Khác"}
        self.tokens = tokens
        self.down = False
        self.requests: dict[str, dict[str, Any]] = {}  # service_request_id -> everything stored
        self.pending_tokens: dict[str, str] = {}  # token -> service_request_id, not yet released
        self.released_tokens: dict[str, str] = {}
        self.posts: list[dict[str, Any]] = []  # every POST: headers and decoded form
        self._lock = threading.Lock()
        self._next_id = 638344
        self.app = self._build()
        self._server: Any = None
        self.url = ""

    # ------------------------------------------------------------------ controls

    def release_tokens(self) -> None:
        with self._lock:
            self.released_tokens.update(self.pending_tokens)
            self.pending_tokens.clear()

    def close(self, service_request_id: str, notes: str | None = None, *, status: str = "closed") -> None:
        with self._lock:
            stored = self.requests[service_request_id]
            stored.update(status=status, status_notes=notes, updated_datetime=_now())

    # ------------------------------------------------------------------ the API

    def _build(self) -> Flask:
        app = Flask("georeport")

        @app.post("/requests.json")
        def create() -> Response:
            return self._create()

        @app.get("/requests.json")
        def listing() -> Response:
            if self.down:
                return _error(400, "General Service Error")
            with self._lock:
                return jsonify([self._public(r) for r in self.requests.values()])

        @app.get("/requests/<request_id>.json")
        def one(request_id: str) -> Response:
            if self.down:
                return _error(400, "General Service Error")
            if self.jurisdiction_id and request.args.get("jurisdiction_id") != self.jurisdiction_id:
                return _error(404, "jurisdiction_id provided was not found")
            with self._lock:
                stored = self.requests.get(request_id)
                if stored is None:
                    return _error(404, "service_request_id provided was not found")
                return jsonify([self._public(stored)])

        @app.get("/tokens/<token>.json")
        def token(token: str) -> Response:
            with self._lock:
                if token in self.released_tokens:
                    return jsonify([{"service_request_id": self.released_tokens[token], "token": token}])
                if token in self.pending_tokens:
                    return jsonify([{"token": token}])
            return _error(404, "token provided was not found")

        return app

    def _form(self) -> dict[str, str] | Response:
        content_type = request.headers.get("Content-Type", "")
        mimetype, _, params = content_type.partition(";")
        if mimetype.strip().lower() != "application/x-www-form-urlencoded":
            return _error(400, "requests must be application/x-www-form-urlencoded")
        charset = "iso-8859-1"
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip('"').lower()
        try:
            pairs = urllib.parse.parse_qsl(request.get_data(as_text=False).decode("ascii"),
                                           keep_blank_values=True, encoding=charset, errors="strict")
        except (UnicodeDecodeError, LookupError):
            return _error(400, f"request body is not valid {charset}")
        return dict(pairs)

    def _create(self) -> Response:
        form = self._form()
        if isinstance(form, Response):
            return form
        self.posts.append({"headers": dict(request.headers), "form": form})
        if self.down:
            return _error(400, "General Service Error")
        if self.api_key and form.get("api_key") != self.api_key:
            return _error(403, "api_key was not provided or is invalid")
        if self.jurisdiction_id:
            if not form.get("jurisdiction_id"):
                return _error(400, "jurisdiction_id was not provided")
            if form["jurisdiction_id"] != self.jurisdiction_id:
                return _error(404, "jurisdiction_id provided was not found")
        code = form.get("service_code")
        if not code:
            return _error(400, "service_code was not provided")
        if code not in self.services:
            return _error(404, f"service_code {code} was not found")
        lat, long_ = form.get("lat"), form.get("long")
        if (lat is None) != (long_ is None):
            return _error(400, "lat and long must both be given")
        if lat is not None:
            try:
                if not (-90 <= float(lat) <= 90 and -180 <= float(long_ or "") <= 180):
                    raise ValueError
            except ValueError:
                return _error(400, "lat/long are not valid WGS-84 coordinates")
        if lat is None and not form.get("address_string") and not form.get("address_id"):
            return _error(400, "a location is required: lat & long, address_string or address_id")
        description = form.get("description", "")
        if len(description) > DESCRIPTION_MAX:
            return _error(400, f"description is longer than {DESCRIPTION_MAX} characters")
        media = form.get("media_url")
        if media and urllib.parse.urlsplit(media).scheme not in ("http", "https"):
            return _error(400, "media_url is not a URL")
        with self._lock:
            request_id = str(self._next_id)
            self._next_id += 1
            now = _now()
            self.requests[request_id] = {
                "service_request_id": request_id, "status": "open", "status_notes": None,
                "service_name": self.services[code], "service_code": code,
                "description": description, "agency_responsible": "UBND tỉnh",
                "service_notice": None, "requested_datetime": now, "updated_datetime": now,
                "expected_datetime": None, "address": form.get("address_string"),
                "address_id": form.get("address_id"), "zipcode": None,
                "lat": float(lat) if lat is not None else None,
                "long": float(long_) if long_ is not None else None,
                "media_url": media,
                # Private: kept, never served.
                "first_name": form.get("first_name"), "last_name": form.get("last_name"),
                "email": form.get("email"), "phone": form.get("phone"),
                "attributes": {k[len("attribute["):-1]: v for k, v in form.items()
                               if k.startswith("attribute[") and k.endswith("]")},
            }
            if self.tokens:
                token = f"tok{request_id}"
                self.pending_tokens[token] = request_id
                answer: dict[str, Any] = {"token": token}
            else:
                answer = {"service_request_id": request_id, "service_notice": "", "account_id": None}
        response = jsonify([answer])
        response.status_code = 201
        return response

    @staticmethod
    def _public(stored: dict[str, Any]) -> dict[str, Any]:
        return {name: stored.get(name) for name in PUBLIC_FIELDS}

    # ------------------------------------------------------------------ serving

    def start(self) -> None:
        # Mounted under a path, as real back-ends are.
        self._server = make_server("127.0.0.1", 0, _mounted("/open311/v2", self.app), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/open311/v2"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _mounted(prefix: str, app: Flask) -> Any:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.wrappers import Response as Plain

    return DispatcherMiddleware(Plain("not found", status=404), {prefix: app})


@contextmanager
def serving(**options: Any) -> Iterator[GeoReportServer]:
    server = GeoReportServer(**options)
    server.start()
    try:
        yield server
    finally:
        server.stop()
