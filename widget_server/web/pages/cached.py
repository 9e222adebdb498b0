"""The form page's GET, rendered once per version of the sites and reference lists.

Only the parts that differ per response are filled in per response: the form token and
the CSP style nonce (holes in the cached HTML, which is gzipped once: ``spliced.py``). Everything else that changes the
HTML is in the cache key: the path and the whole query string (``origin``, ``inline``,
``u``, ``src``, ``lang``, and the other-language link that repeats them), the language
negotiated from ``?lang``/``Accept-Language``, whether the address is busy (proof of work
up front), whether a ``Referer`` came (``?u=`` is dropped without one), and the versioned
names of the widget files it links. The site and
its configuration come from the version the key is cached under.

``PAGE_CACHE = False`` (tests) renders each GET as it is, for comparison.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request

from widget_server.intake import reference, sites, tokens
from widget_server.store import versions
from widget_server.web import limits
from widget_server.web.assets import versioned_url
from widget_server.web.i18n import request_lang
from widget_server.web.pages.common import frame_ancestors, page_context, secure
from widget_server.web.pages.spliced import Spliced

# Per process, never guessable by a page's reader, so no reflected value can collide with it.
TOKEN_MARK = "phtok" + secrets.token_hex(12)
NONCE_MARK = "phnon" + secrets.token_hex(12)
MAX_PAGES = 512
# The widget files the page links by versioned name: a rebuilt widget makes new pages.
PAGE_ASSETS = ("form.css", "form.js", "altcha.js")
NONCE_BYTES = 16
NONCE_LENGTH = len(secrets.token_urlsafe(NONCE_BYTES))  # 22 characters, always


def cached_get(site: sites.Site, *, embedded: bool, render: Callable[..., str]) -> Response:
    busy = limits.ip_busy()
    if current_app.config.get("PAGE_CACHE", True):
        key = (embedded, request.script_root, request.path, request.query_string,
               request_lang(fallback=site.locale), busy, bool(request.referrer),
               *(versioned_url(name) for name in PAGE_ASSETS))
        page, has_nonce = versions.cache("form_pages", "sites", "reference", limit=MAX_PAGES).get(
            key, lambda: _render_marked(site, embedded, busy, render))
        nonce = secrets.token_urlsafe(NONCE_BYTES) if has_nonce else None
        values = {"token": tokens.issue_form_token(site.key), **({"nonce": nonce} if nonce else {})}
        gz = bool(request.accept_encodings["gzip"])
        resp = Response(page.fill(values, gzip=gz), content_type="text/html; charset=utf-8")
        resp.headers["Vary"] = "Accept-Encoding"  # a new response: no need to parse a Vary first
        if gz:
            resp.headers["Content-Encoding"] = "gzip"
    else:
        ctx = page_context(site, embedded=embedded)
        html = render(site, ctx, reference.public_config(site), tokens.issue_form_token(site.key), busy)
        nonce = ctx["style_nonce"]
        resp = Response(html, content_type="text/html; charset=utf-8")
    return secure(resp, frame_ancestors=frame_ancestors(site) if embedded else "'none'",
                  style_nonce=nonce, blob_images=True)


def _render_marked(site: sites.Site, embedded: bool, busy: bool,
                   render: Callable[..., str]) -> tuple[Spliced, bool]:
    ctx: dict[str, Any] = page_context(site, embedded=embedded)
    has_nonce = bool(ctx["style_nonce"])
    if has_nonce:
        ctx["style_nonce"] = NONCE_MARK
    html = render(site, ctx, reference.public_config(site), TOKEN_MARK, busy)
    lengths = {"token": len(tokens.issue_form_token(site.key).encode()), "nonce": NONCE_LENGTH}
    return Spliced.make(html, {"token": TOKEN_MARK, "nonce": NONCE_MARK}, lengths), has_nonce
