"""Sites in the console: settings, strict origins, live preview, embed snippet, QR codes, keys."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import secrets as _secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from phanhoi.embed import VARIANTS, Manifest, embed_snippet, qr_svg, standalone_url

from widget_server.accounts import audit
from widget_server.intake import sites
from widget_server.reach.beacons import CHANNEL
from widget_server.web import assets
from widget_server.web.console.auth import render, require_admin, site_for, visible_sites
from widget_server.web.console.blueprint import bp
from widget_server.web.pages.theme import contrast_with_white

MAX_ORIGINS = 20
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
QR_CHANNELS = ("print", "tv", "qr")


def parse_origins(text: str) -> tuple[list[str], list[str]]:
    """One origin a line, strictly: ``https://host[:port]`` and nothing else (no path, query,
    fragment, user or wildcard); plain http only for localhost and loopback addresses."""
    found, errors = [], []
    for line in (part.strip() for part in text.splitlines()):
        if not line:
            continue
        parts = urlsplit(line)
        host = parts.hostname or ""
        try:
            local = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
        if (parts.scheme not in {"http", "https"} or not host or parts.username or parts.password
                or parts.path not in {"", "/"} or parts.query or parts.fragment or "*" in line
                or (parts.scheme == "http" and not local) or ("." not in host and not local)):
            errors.append(line[:200])
            continue
        try:
            found.append(sites.normalise_origin(line))
        except sites.SiteError:
            errors.append(line[:200])
    if len(found) > MAX_ORIGINS:
        errors.append(f"> {MAX_ORIGINS}")
    return sorted(set(found)), errors


def _snippet(site: sites.Site, variant: str, channel: str, nonce: bool) -> str:
    base = current_app.config["PUBLIC_URL"]
    info = assets.manifest()
    manifest = Manifest.from_dict(info) if info.get("loader") else None
    tag = embed_snippet(base, site.key, variant, site.locale, pin=manifest is not None, manifest=manifest)
    if channel != "web":
        tag = tag.replace(' data-site="', f' data-channel="{channel}" data-site="', 1)
    if nonce:
        # The host page's own per-response nonce goes here (its CSP names it in script-src).
        tag = tag.replace("<script ", '<script nonce="NONCE_CUA_TRANG" ', 1)
    return tag


def _view_options() -> tuple[str, str, bool]:
    variant = request.values.get("variant") or "banner"
    channel = request.values.get("channel") or "web"
    return (variant if variant in VARIANTS else "banner",
            channel if CHANNEL.match(channel) else "web", request.values.get("nonce") == "1")


@bp.get("/sites")
def site_list() -> Response:
    return render("console/sites.html", sites=visible_sites())


@bp.post("/sites")
def site_add() -> Response:
    """A new site (admins only); its secret key is shown in this answer and never again."""
    require_admin()
    name = (request.form.get("name") or "").strip()[:200]
    origins, bad = parse_origins(request.form.get("origins") or "")
    if not name or bad:
        return render("console/sites.html", 422, sites=visible_sites(), form_errors={
            "name": not name, "origins": bad}, form=request.form)
    site, secret = sites.create_site(name, origins)
    audit.record(g.user.email, "site.add", site.key, site_id=site.id, details={"origins": origins})
    return render("console/secret.html", 201, site=site, secret=secret, grace_days=None)


@bp.route("/sites/<site_key>", methods=["GET", "POST"])
def site_page(site_key: str) -> ResponseReturnValue:
    """Settings, preview, embed snippet and QR codes of one site."""
    site = site_for(site_key)
    errors: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        name = (request.form.get("name") or "").strip()[:200]
        origins, bad = parse_origins(request.form.get("origins") or "")
        accent = (request.form.get("accent") or "").strip()
        if not name:
            errors["name"] = True
        if bad:
            errors["origins"] = bad
        if accent and not (COLOUR.match(accent) and (contrast_with_white(accent) or 0) >= 4.5):
            errors["accent"] = True
        if errors:
            status = 422
        else:
            theme = {**site.theme, "accent": accent.lower()} if accent else {
                k: v for k, v in site.theme.items() if k != "accent"}
            changed = {k: v for k, v in (("name", name), ("origins", origins), ("theme", theme))
                       if getattr(site, k) != v}
            if changed:
                site = sites.update_site(site.key, **changed)
                audit.record(g.user.email, "site.update", site.key, site_id=site.id,
                             details={k: v for k, v in changed.items()})
            return redirect(url_for("console.site_page", site_key=site.key, saved=1), 303)
    variant, channel, nonce = _view_options()
    return render("console/site.html", status, site=site, errors=errors, form=request.form,
                  variant=variant, channel=channel, nonce=nonce, variants=VARIANTS,
                  snippet=_snippet(site, variant, channel, nonce), qr_channels=QR_CHANNELS,
                  qr=qr_svg(current_app.config["PUBLIC_URL"], site.key, "print", scale=3),
                  saved=request.args.get("saved") == "1")


@bp.post("/sites/<site_key>/rotate")
def site_rotate(site_key: str) -> Response:
    """A new secret key, shown once; the old one keeps working for the grace period."""
    site = site_for(site_key)
    try:
        grace_days = min(max(int(request.form.get("grace_days", "7")), 0), 30)
    except ValueError:
        grace_days = 7
    secret = sites.rotate_secret(site.key, grace=dt.timedelta(days=grace_days))
    audit.record(g.user.email, "site.key-rotated", site.key, site_id=site.id,
                 details={"grace_days": grace_days})
    return render("console/secret.html", site=site, secret=secret, grace_days=grace_days)


@bp.get("/sites/<site_key>/qr-<channel>.<kind>")
def site_qr(site_key: str, channel: str, kind: str) -> Response:
    """The full-page form's QR code with ``?src=`` set, as SVG (print) or a large PNG (TV)."""
    site = site_for(site_key)
    if channel not in QR_CHANNELS or kind not in {"svg", "png"}:
        abort(404)
    url = standalone_url(current_app.config["PUBLIC_URL"], site.key, channel)
    if kind == "svg":
        body = qr_svg(current_app.config["PUBLIC_URL"], site.key, channel, scale=8).encode()
        ctype = "image/svg+xml"
    else:
        import io

        import segno  # console only: not loaded in every worker

        buffer = io.BytesIO()
        segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=16, border=4)
        body, ctype = buffer.getvalue(), "image/png"
    return Response(body, content_type=ctype, headers={
        "Content-Disposition": f'attachment; filename="qr-{site.key}-{channel}.{kind}"'})


@bp.get("/sites/<site_key>/preview")
def preview(site_key: str) -> Response:
    """A blank page with the site's banner, framed by the site page (beacons from here are not
    counted: the relay's own origin is not one of the site's)."""
    site = site_for(site_key)
    variant, channel, _ = _view_options()
    nonce = _secrets.token_urlsafe(16)
    resp = Response(render_template("console/preview.html", site=site, variant=variant, channel=channel,
                                    loader_url=assets.versioned_url("loader.js"), nonce=nonce,
                                    css_url=assets.versioned_url("console.css")),
                    content_type="text/html; charset=utf-8")
    resp.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
        "frame-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp
