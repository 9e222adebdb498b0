"""Attachments, by the signed and expiring links forwarded to the central system."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from widget_server.intake import attachments
from widget_server.web.api.blueprint import bp


@bp.get("/attachments/<token>")
def download(token: str) -> Response:
    """An attachment, by a signed and expiring link given to the central system."""
    found = attachments.open_link(token)
    resp = Response(found.body, mimetype=found.content_type)
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(found.filename)}"
    # Opened directly, the file gets no scripts, no plugins and no same-origin rights.
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return resp
