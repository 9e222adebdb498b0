"""Widget pages, server-rendered, working without JavaScript (one module per page)."""

from widget_server.web.pages import board, common, demo, form, short, track
from widget_server.web.pages.blueprint import bp

__all__ = ["board", "bp", "common", "demo", "form", "short", "track"]
