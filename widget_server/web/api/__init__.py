"""The public JSON API (``/api/v1``), one module per resource. Errors are RFC 9457 problem+json."""

from widget_server.web.api import attachments, central, results, sites, submissions
from widget_server.web.api.blueprint import bp

__all__ = ["attachments", "bp", "central", "results", "sites", "submissions"]
