"""The public JSON API (``/api/v1``), one module per resource. Errors are RFC 9457 problem+json."""

from widget_server.web.api import attachments, beacons, central, results, sites, submissions
from widget_server.web.api.blueprint import bp

__all__ = ["attachments", "beacons", "bp", "central", "results", "sites", "submissions"]
