"""What every widget page shares: its language, its security headers, its theme and date filters."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any
from urllib.parse import urlencode

from flask import Response, request, url_for
from markupsafe import Markup, escape

from widget_server import i18n
from widget_server.vocab import VN_TIME
from widget_server.intake import reference, sites
from widget_server.web.assets import versioned_url
from widget_server.web.i18n import request_lang
from widget_server.web.pages.blueprint import bp
from widget_server.web.pages.theme import theme_accent, theme_logo



def parent_origin(site: sites.Site) -> str | None:
    """Where the framed page may post messages: only one of the site's registered origins."""
    origin = request.values.get("origin")
    if origin and sites.origin_allowed(site, origin):
        return sites.normalise_origin(origin)
    return None


def secure(resp: Response, *, frame_ancestors: str, style_nonce: str | None = None,
            blob_images: bool = False) -> Response:
    style = f"'self' 'nonce-{style_nonce}'" if style_nonce else "'self'"
    # blob: only on the form, for thumbnails of the files the reader picked (never uploaded yet).
    img = "'self' data: blob:" if blob_images else "'self' data:"
    values = [
        ("Content-Security-Policy",
         f"default-src 'none'; script-src 'self'; style-src {style}; img-src {img}; "
         "connect-src 'self'; form-action 'self'; base-uri 'none'; "
         f"frame-ancestors {frame_ancestors}"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", "geolocation=(self), camera=(), microphone=()"),
        # Pages carry a one-off form token and, after a post, personal data.
        ("Cache-Control", "no-store"),
    ]
    if frame_ancestors == "'none'":
        values.append(("X-Frame-Options", "DENY"))
    # Set as ``headers[name] = value`` would, with one look at the headers already there (each
    # ``set`` on werkzeug's Headers scans them all: a cached page's headers cost more than its body).
    headers = resp.headers
    present = {name.lower() for name, _ in headers.items()}
    for name, value in values:
        if name.lower() in present:
            headers[name] = value
    headers.extend([(name, value) for name, value in values if name.lower() not in present])
    return resp


def frame_ancestors(site: sites.Site) -> str:
    return " ".join(site.origins) if site.origins else "'none'"


def page_context(site: sites.Site, *, embedded: bool) -> dict[str, Any]:
    lang = request_lang(fallback=site.locale)
    parent = parent_origin(site) if embedded else None
    # The inline variant frames the form in the article itself, with no dialog title above it.
    inline = bool(parent and request.values.get("inline"))
    keep = {"lang": lang}
    if parent:
        keep["origin"] = parent
    if inline:
        keep["inline"] = "1"
    accent = theme_accent(site.theme)
    return {
        "accent": accent,
        "style_nonce": secrets.token_urlsafe(16) if accent else None,
        "site": site,
        "logo": theme_logo(site.theme),
        # Who the reader is writing to, on pages seen outside the banner (QR codes, links).
        "recipient": reference.RECIPIENT,
        "lang": lang,
        "t": i18n.catalogue(lang),
        "embedded": embedded,
        "parent_origin": parent,
        "inline": inline,
        "keep": keep,
        "css_url": versioned_url("form.css"),
        "js_url": versioned_url("form.js"),
        "other_lang_url": "?" + urlencode({**request.args.to_dict(), "lang": "vi" if lang == "en" else "en"}),
        "track_url": url_for("pages.track", site_key=site.key) + "?" + urlencode(keep),
    }


@bp.app_template_filter("phdate")
def phdate(value: Any) -> str:
    """ISO 8601 → ``dd/mm/yyyy HH:MM`` in Vietnam time (UTC+7, no daylight saving)."""
    if not value:
        return ""
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if isinstance(value, str) and len(value) == 10:
        return when.strftime("%d/%m/%Y")
    return when.astimezone(VN_TIME).strftime("%d/%m/%Y %H:%M")


@bp.app_template_filter("phday")
def phday(value: Any) -> str:
    """ISO 8601 → ``dd/mm/yyyy`` in Vietnam time: deadlines are days, not minutes."""
    return phdate(value)[:10]


def fmt(text: str, **values: Any) -> str:
    for k, v in values.items():
        text = text.replace("{" + k + "}", str(v))
    return text


def fmt_markup(text: str, **values: Any) -> Markup:
    """:func:`fmt` for HTML: the text is escaped, values too unless they are markup already."""
    out = escape(text)
    for k, v in values.items():
        out = out.replace("{" + k + "}", escape(v))
    return out


def number(value: int, lang: str) -> str:
    """``5000`` → ``5.000`` in Vietnamese, ``5,000`` in English."""
    return f"{value:,}".replace(",", "." if lang == "vi" else ",")
