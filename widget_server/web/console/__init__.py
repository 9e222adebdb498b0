"""The console (``/console/``): the relay's operators sign in to see reach and manage sites, keys
and deliveries. Server-rendered, working without JavaScript, under the relay pages' strict CSP."""

from widget_server.web.console import auth, delivery, overview, sites
from widget_server.web.console.blueprint import bp

__all__ = ["auth", "bp", "delivery", "init_app", "overview", "sites"]
init_app = auth.init_app
