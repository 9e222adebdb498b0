"""Security headers on every response, and CORS only where a partner page needs it.

Views that know better set their own headers (the form pages set a CSP with the
site's ``frame-ancestors``, static files allow cross-origin loading); this layer
only fills in what a view left unset, so it never loosens or overrides them.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from flask import Flask, Response, request
from werkzeug.exceptions import BadRequest, NotFound

from widget_server.intake import sites

# JSON, problem+json and anything else without its own policy: nothing may load,
# nothing may frame it.
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Powerful features stay off unless a page asks (the form page allows geolocation=(self)).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), payment=(), usb=()"
)
HSTS = "max-age=31536000"

# Endpoints whose GET answers may be read by scripts on the site's registered origins.
CORS_ENDPOINTS = {"api.site_config"}


def _cors(resp: Response) -> Response:
    """``Access-Control-Allow-Origin`` for the site's own registered origins, never ``*``."""
    if request.endpoint not in CORS_ENDPOINTS or request.method not in {"GET", "HEAD", "OPTIONS"}:
        return resp
    resp.vary.add("Origin")
    origin = request.headers.get("Origin")
    site_key = (request.view_args or {}).get("site_key")
    if not origin or not site_key:
        return resp
    site = sites.get_site(str(site_key))
    if site is None or not sites.origin_allowed(site, origin):
        return resp
    resp.headers["Access-Control-Allow-Origin"] = sites.normalise_origin(origin)
    if request.method == "OPTIONS":
        resp.headers["Access-Control-Allow-Methods"] = "GET"
        resp.headers["Access-Control-Max-Age"] = "600"
    return resp


_DEFAULTS = (("X-Content-Type-Options", "nosniff"),
             ("Referrer-Policy", "strict-origin-when-cross-origin"),
             ("Permissions-Policy", PERMISSIONS_POLICY))


class SecurityHeaders:
    """WSGI middleware: the headers above that the answer left unset, and the request id
    (``request_id``), added to the header list the server is given.

    Added there rather than in an ``after_request`` hook: werkzeug checks each value added to a
    response's ``Headers`` and copies them all again on the way out, which cost every answer
    more than anything else the relay adds to a request (these values are constants). The view,
    its blueprint's hooks and CORS (``_cors``, an ``after_request`` hook) have all run by then,
    so what they set is kept.
    """

    def __init__(self, wsgi_app: Any, *, hsts: bool) -> None:
        self.wsgi_app = wsgi_app
        self.hsts = hsts

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        api = (environ.get("PATH_INFO") or "").lstrip("/").startswith("api/")  # as werkzeug's ``path``
        hsts = self.hsts

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            if "x-request-id" in present:  # the relay's own, never a view's
                headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers = headers + [(name, value) for name, value in _DEFAULTS if name.lower() not in present]
            headers.append(("X-Request-Id", request_id(environ)))
            if "content-security-policy" not in present:
                headers.append(("Content-Security-Policy", STRICT_CSP))
                if "x-frame-options" not in present:
                    headers.append(("X-Frame-Options", "DENY"))
            if hsts and "strict-transport-security" not in present:
                headers.append(("Strict-Transport-Security", HSTS))
            if api and "cache-control" not in present:
                # Answers carry tracking codes and, for lookups, a citizen's case: never cache
                # unless the view said so (the public site configuration does).
                headers.append(("Cache-Control", "no-store"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


_QUERY_VALUE = re.compile(r"([?&][^=&\s\"]+=)[^&\s\"]*")


def strip_query_values(line: str) -> str:
    """``GET /x?contact=0912… HTTP/1.1`` → ``GET /x?contact=- HTTP/1.1``."""
    return _QUERY_VALUE.sub(r"\1-", line) if " HTTP/" in line else line


class QueryValueFilter(logging.Filter):
    """Access-log lines keep the path and parameter names, not the values.

    Lookups carry the contact in a POST body; an old client may still send it in
    ``?contact=``, which the development and demo server (werkzeug) would otherwise
    write to the log. (gunicorn's access log format in ``serve`` leaves the query
    string out altogether.)
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(strip_query_values(a) if isinstance(a, str) else a
                                for a in record.args)
        if isinstance(record.msg, str):
            record.msg = strip_query_values(record.msg)
        return True


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


def request_id(environ: Mapping[str, Any] | None = None) -> str:
    """The caller's ``X-Request-Id`` when it is a plain token (a proxy's), else a new one:
    every answer carries one, and the access log of ``serve`` prints it. ``environ``: the
    request's WSGI environment (the current request's by default).

    A new one is 128 bits of ``random``'s generator (seeded from the system's randomness, again
    in each forked worker): an id to find a request by, not a secret, so not a system call per
    answer as ``os.urandom`` is."""
    incoming = (request.environ if environ is None else environ).get("HTTP_X_REQUEST_ID")
    return incoming if incoming and _REQUEST_ID.fullmatch(incoming) else f"{random.getrandbits(128):032x}"


# C0 controls, DEL and the C1 controls: one regular-expression scan, not a Python loop per character.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _control_characters(value: str) -> bool:
    return _CONTROL.search(value) is not None


def refuse_control_characters() -> None:
    """A path or query with a NUL or another control character names nothing: 404 or 400.

    Refused before any view runs, so SQLite and PostgreSQL (which cannot store NUL) answer
    alike and no such character reaches a query, a file name or a log line.
    """
    if _control_characters(request.path):
        raise NotFound()
    query = request.environ.get("QUERY_STRING")
    if query and _control_characters(unquote(query)):
        raise BadRequest("Địa chỉ chứa ký tự điều khiển.")


def init_app(app: Flask) -> None:
    from widget_server.web import logs

    logs.init_app(app)
    app.before_request(refuse_control_characters)
    hsts = str(app.config.get("PUBLIC_URL", "")).startswith("https://")
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, QueryValueFilter) for f in access_log.filters):
        access_log.addFilter(QueryValueFilter())

    app.after_request(_cors)
    app.wsgi_app = SecurityHeaders(app.wsgi_app, hsts=hsts)  # type: ignore[method-assign]
