"""The demo: a sample Thanh Hóa news article carrying the banner (demo mode only)."""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlsplit

from flask import Response, abort, current_app, render_template, request

from widget_server.intake import sites
from widget_server.vocab import VN_TIME
from widget_server.web.assets import versioned_url
from widget_server.web.pages.blueprint import bp

# --- demo -------------------------------------------------------------------------------


def _demo_site() -> sites.Site:
    """The demo news site: its page is served on ``localhost``, the relay on ``127.0.0.1``."""
    key = current_app.config.get("DEMO_SITE_KEY")
    site = sites.get_site(key) if key else None
    if site is not None:
        return site
    public = urlsplit(current_app.config["PUBLIC_URL"])
    port = f":{public.port}" if public.port else ""
    origins = [f"http://localhost{port}", f"http://127.0.0.1{port}"]
    for existing in sites.list_sites():
        if existing.name == "Báo Thanh Hóa (demo)" and set(origins) <= set(existing.origins):
            current_app.config["DEMO_SITE_KEY"] = existing.key
            return existing
    site, _secret = sites.create_site("Báo Thanh Hóa (demo)", origins=origins)
    current_app.config["DEMO_SITE_KEY"] = site.key
    return site


@bp.get("/demo")
def demo() -> Response:
    """A sample news article carrying the banner (demo mode only)."""
    if not current_app.config.get("DEMO"):
        abort(404)
    site = _demo_site()
    nonce = secrets.token_urlsafe(16)
    relay = current_app.config["PUBLIC_URL"]
    today = dt.datetime.now(VN_TIME).date()
    weekdays = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]
    resp = Response(
        render_template(
            "widget/demo.html",
            site=site,
            today=f"{weekdays[today.weekday()]}, {today:%d/%m/%Y}",
            today_short=f"{today:%d/%m/%Y}",
            nonce=nonce,
            relay=relay,
            loader_url=relay + "/static/widget/loader.js",
            css_url=versioned_url("demo/demo.css"),
            variant=request.args.get("variant", "banner")
            if request.args.get("variant") in {"banner", "button", "inline"} else "banner",
            lang="en" if request.args.get("lang", "").startswith("en") else "vi",
        ),
        content_type="text/html; charset=utf-8",
    )
    # The directives a host page adds for the widget (README.md, "Content-Security-Policy on the
    # host page"), shown working under a nonce-based CSP: connect-src lets the reach beacons out.
    resp.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'nonce-{nonce}' {relay}; style-src 'self'; "
        f"frame-src {relay}; connect-src {relay}; img-src 'self' data:; object-src 'none'; base-uri 'none'"
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp
