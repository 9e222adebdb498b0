"""Reach beacons from the widget: ``navigator.sendBeacon`` with ``{e, ch}``, counted, never stored."""

from __future__ import annotations

from flask import Response, request

from widget_server.reach import beacons
from widget_server.web import limits
from widget_server.web.api.blueprint import bp


@bp.post("/sites/<site_key>/beacon")
@limits.per_ip("RATELIMIT_BEACON")
def beacon(site_key: str) -> Response:
    """Count a viewable impression, an opened form or an opened lookup for a site and channel.

    Answers 204 whether or not the beacon was counted (bots are not told); 403 for an origin not
    registered for the site, 422 for a malformed body. Nothing about the reader is kept.
    """
    site = beacons.site_for_beacon(site_key)
    # sendBeacon posts text/plain (no preflight); the body is read whatever its type, at most 256 bytes.
    body = request.stream.read(beacons.MAX_BODY + 1)
    beacons.count(site, beacons.parse(body), origin=request.headers.get("Origin"),
                  user_agent=request.headers.get("User-Agent", ""))
    return Response(status=204, headers={"Cache-Control": "no-store"})
