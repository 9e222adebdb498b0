"""Short error pages for plain (no-JavaScript) form posts, instead of problem+json."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, render_template, request

from widget_server import i18n
from widget_server.intake import sites
from widget_server.web.assets import versioned_url
from widget_server.web.limits import retry_after_seconds
from widget_server.web.pages.blueprint import bp
from widget_server.web.pages.common import fmt, frame_ancestors, secure

def _short_page(status: int, key: str, headers: dict[str, str], **values: Any) -> Response:
    """A small page in Vietnamese (English after it on English pages) instead of problem+json."""
    site_key = str((request.view_args or {}).get("site_key") or "")
    site = sites.get_site(site_key) if site_key else None
    asked = request.args.get("lang")
    if not asked and request.content_length and request.content_length < 64 * 1024:
        asked = request.form.get("lang")  # plain posts carry it in the body; never parse big uploads here
    lang = i18n.negotiate(asked, fallback=site.locale if site else None)
    # Vietnamese always, the page's own language after it.
    texts = [i18n.catalogue(i18n.DEFAULT)]
    if lang != i18n.DEFAULT:
        texts.append(i18n.catalogue(lang))
    back = {"lang": lang}
    origin = request.args.get("origin")
    if site is not None and origin and sites.origin_allowed(site, origin):
        back["origin"] = sites.normalise_origin(origin)
    resp = Response(
        render_template(
            "widget/short.html", texts=texts, key=key, lang=lang, values=values, fmt=fmt,
            css_url=versioned_url("form.css"), back=request.path + "?" + urlencode(back),
        ),
        status=status, content_type="text/html; charset=utf-8",
    )
    resp.headers.update(headers)
    framed = request.path.startswith("/w/") and site is not None
    return secure(resp, frame_ancestors=frame_ancestors(site) if framed and site else "'none'")


@bp.errorhandler(429)
def too_many_requests(exc: Exception) -> Response:
    """Rate-limited plain posts get a page, not problem+json."""
    wait = retry_after_seconds()
    return _short_page(429, "limited", {"Retry-After": str(wait), "Cache-Control": "no-store"},
                       minutes=max(1, -(-wait // 60)))


@bp.errorhandler(413)
def too_large(exc: Exception) -> Response:
    """A plain post bigger than all allowed files together: say which limit, in words."""
    cfg = current_app.config
    return _short_page(413, "too_large", {"Cache-Control": "no-store"},
                       n=cfg["MAX_ATTACHMENTS"], mb=int(cfg["MAX_ATTACHMENT_BYTES"]) // (1024 * 1024))
