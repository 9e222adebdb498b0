"""Open311 GeoReport v2, read-only, over published results: ``/open311/v2/…`` in JSON and XML.

Existing Open311 clients, apps and open-data portals read the province's public
record here (results/georeport.py says what is in it). Errors take the spec's own
shape, a list of ``{code, description}`` (``<errors><error>…`` in XML).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, json, request

from widget_server.errors import DomainError
from widget_server.results import georeport
from widget_server.web.problems import status_for
from widget_server.web.public import cached

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        node = ET.SubElement(top, item)
        for key, value in row.items():
            child = ET.SubElement(node, key)
            if value is not None:
                child.text = str(value).lower() if isinstance(value, bool) else str(value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")


def _encode(fmt: str, root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    if fmt == "xml":
        return _xml(root, item, rows)
    return json.dumps(rows, ensure_ascii=False).encode()


def _error(fmt: str, status: int, description: str) -> Response:
    rows = [{"code": status, "description": description}]
    return Response(_encode(fmt if fmt in FORMATS else "json", "errors", "error", rows), status=status,
                    mimetype=FORMATS.get(fmt, FORMATS["json"]).split(";")[0])


def _answer(fmt: str, key: str, root: str, item: str, rows: Callable[[], list[dict[str, Any]]]) -> Response:
    if fmt not in FORMATS:
        return _error("json", 404, "Format: json or xml.")
    try:
        # A bad argument raises while the answer is made, so it is answered and never cached.
        return cached(f"open311|{fmt}|{key}", lambda: _encode(fmt, root, item, rows()), FORMATS[fmt],
                      cors=True)
    except DomainError as exc:
        return _error(fmt, status_for(exc), exc.message or exc.code)


@bp.get("/services.<fmt>")
def services(fmt: str) -> Response:
    """Service types: the categories (lĩnh vực) results are filed under."""
    return _answer(fmt, "services", "services", "service", georeport.services)


@bp.get("/requests.<fmt>")
def requests(fmt: str) -> Response:
    """Published results as closed service requests (service_code, status, start_date, end_date,
    service_request_id)."""
    args = request.args.to_dict()
    key = "requests|" + json.dumps(sorted(args.items()))
    return _answer(fmt, key, "service_requests", "request", lambda: georeport.requests(args))


@bp.get("/requests/<request_id>.<fmt>")
def one_request(request_id: str, fmt: str) -> Response:
    """One published result as a service request (a list of one, as the spec has it)."""
    if fmt not in FORMATS:
        return _error("json", 404, "Format: json or xml.")
    found = georeport.requests({"service_request_id": request_id})
    if not found:
        return _error(fmt, 404, "No published result with this id.")
    return _answer(fmt, "request|" + request_id, "service_requests", "request", lambda: found)
