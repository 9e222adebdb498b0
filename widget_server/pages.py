"""Widget pages: the framed form, the status lookup, the full-page form and the demo.

The same templates serve three audiences: the form framed by a news site
(``/w/<key>/form``), a plain page for links, print and TV QR codes
(``/s/<key>``), and browsers without JavaScript (both pages post back to
themselves and render the result on the server). Pages carry a strict CSP of
their own: scripts and styles from this origin only, no inline code, except one
nonce-bound ``<style>`` holding a site's validated theme colour.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage

from . import altcha_pow, attachments, reference, sites, tokens
from .assets import versioned_url, widget_dir
from .problems import Problem

bp = Blueprint("pages", __name__, template_folder="templates")

VN_TIME = dt.timezone(dt.timedelta(hours=7))

# Field name in the form (dotted, as in the API's error paths) → i18n label key.
FIELDS = {
    "category": "category",
    "agency": "agency",
    "title": "title",
    "content": "content",
    "location.commune_code": "commune",
    "location.address": "address",
    "submitter.name": "name",
    "submitter.phone": "phone",
    "submitter.email": "email",
    "consent.accepted": "consent_legend",
    "files": "files",
}
# Error paths that do not name one input are shown on the input that fixes them.
ERROR_ALIASES = {
    "submitter": "submitter.phone",
    "submitter.contact": "submitter.phone",
    "consent": "consent.accepted",
    "consent.version": "consent.accepted",
    "location": "location.address",
    "location.lat": "location.address",
    "location.lon": "location.address",
}
# What the form sends the relay as ``src`` (the API's pattern; anything else is dropped).
SRC_PATTERN = re.compile(r"^[a-z0-9_.-]{1,64}$", re.IGNORECASE)
# Theme colours are checked before they reach CSS: a strict hex pattern, nothing else.
HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
# WCAG 2.2 SC 1.4.3: white text on the accent (buttons) and accent text on white.
MIN_CONTRAST = 4.5


@lru_cache(maxsize=4)
def _catalogue(lang: str) -> dict[str, Any]:
    with open(widget_dir() / "i18n" / f"{lang}.json", encoding="utf-8") as fh:
        return json.load(fh)


def _lang(site: sites.Site | None = None) -> str:
    asked = request.values.get("lang") or (site.locale if site else "vi")
    return "en" if str(asked).lower().startswith("en") else "vi"


def _site_or_404(site_key: str) -> sites.Site:
    site = sites.get_site(site_key)
    if site is None:
        abort(404)
    return site


def _parent_origin(site: sites.Site) -> str | None:
    """Where the framed page may post messages: only one of the site's registered origins."""
    origin = request.values.get("origin")
    if origin and sites.origin_allowed(site, origin):
        return sites.normalise_origin(origin)
    return None


def _secure(resp: Response, *, frame_ancestors: str, style_nonce: str | None = None,
            blob_images: bool = False) -> Response:
    style = f"'self' 'nonce-{style_nonce}'" if style_nonce else "'self'"
    # blob: only on the form, for thumbnails of the files the reader picked (never uploaded yet).
    img = "'self' data: blob:" if blob_images else "'self' data:"
    resp.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self'; style-src {style}; img-src {img}; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; "
        f"frame-ancestors {frame_ancestors}"
    )
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["Permissions-Policy"] = "geolocation=(self), camera=(), microphone=()"
    # Pages carry a one-off form token and, after a post, personal data.
    resp.headers["Cache-Control"] = "no-store"
    if frame_ancestors == "'none'":
        resp.headers["X-Frame-Options"] = "DENY"
    return resp


def _frame_ancestors(site: sites.Site) -> str:
    return " ".join(site.origins) if site.origins else "'none'"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def contrast_with_white(colour: str) -> float | None:
    """WCAG contrast ratio of ``#rgb[a]``/``#rrggbb[aa]`` (over white) against white, or None."""
    if not isinstance(colour, str) or not HEX_COLOUR.match(colour):
        return None
    rgb = _opaque(colour)
    lum = 0.2126 * _channel(rgb[0]) + 0.7152 * _channel(rgb[1]) + 0.0722 * _channel(rgb[2])
    return 1.05 / (lum + 0.05)


def _opaque(colour: str) -> tuple[int, int, int]:
    digits = colour[1:]
    if len(digits) in {3, 4}:
        digits = "".join(ch * 2 for ch in digits)
    r, g, b = (int(digits[i:i + 2], 16) for i in (0, 2, 4))
    alpha = int(digits[6:8], 16) / 255 if len(digits) == 8 else 1.0
    # The pages are white, so a translucent accent is what it looks like over white.
    return tuple(round(c * alpha + 255 * (1 - alpha)) for c in (r, g, b))  # type: ignore[return-value]


def theme_accent(theme: Any) -> str | None:
    """The site's accent as ``#rrggbb`` when it is a valid colour with 4.5:1 against white."""
    accent = theme.get("accent") if isinstance(theme, dict) else None
    if not isinstance(accent, str):
        return None
    ratio = contrast_with_white(accent)
    if ratio is None or ratio < MIN_CONTRAST:
        return None
    return "#{:02x}{:02x}{:02x}".format(*_opaque(accent))


def _common(site: sites.Site, *, embedded: bool) -> dict[str, Any]:
    lang = _lang(site)
    parent = _parent_origin(site) if embedded else None
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
        "lang": lang,
        "t": _catalogue(lang),
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


def _fmt(text: str, **values: Any) -> str:
    for k, v in values.items():
        text = text.replace("{" + k + "}", str(v))
    return text


# --- the submission form --------------------------------------------------------------


def _payload_from_form(form: Any) -> dict[str, Any]:
    """The API's JSON body, built from a plain (no-JavaScript) form post."""

    def opt(name: str) -> str | None:
        value = (form.get(name) or "").strip()
        return value or None

    def num(name: str) -> float | None:
        try:
            return float(form.get(name) or "")
        except ValueError:
            return None

    return {
        "category": opt("category"),
        "agency": opt("agency"),
        "title": form.get("title", ""),
        "content": form.get("content", ""),
        "location": {
            "commune_code": opt("location.commune_code"),
            "address": opt("location.address"),
            "lat": num("location.lat"),
            "lon": num("location.lon"),
        },
        "submitter": {
            "name": opt("submitter.name"),
            "phone": opt("submitter.phone"),
            "email": opt("submitter.email"),
        },
        "confidential": form.get("confidential") == "1",
        "consent": {"version": form.get("consent.version", ""), "accepted": form.get("consent.accepted") == "1"},
        "source_url": opt("source_url"),
    }


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            for p, msgs in _flatten(value, path).items():
                out.setdefault(p, []).extend(msgs)
    elif isinstance(messages, (list, tuple)):
        for m in messages:
            if isinstance(m, (dict, list, tuple)):
                for p, msgs in _flatten(m, prefix).items():
                    out.setdefault(p, []).extend(msgs)
            else:
                out.setdefault(prefix or "_form", []).append(str(m))
    else:
        out.setdefault(prefix or "_form", []).append(str(messages))
    return out


def _say(t: dict[str, Any], kind: str | None, server_text: str) -> str:
    """A problem in the page's language: the relay's own (Vietnamese) text on Vietnamese pages."""
    problems = t.get("problems")
    if not problems:
        return server_text
    return problems.get(kind or "", t["err_generic"])


def _field_errors(messages: Any, t: dict[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """Errors keyed by form field, plus those that belong to no field, in the page's language."""
    fields: dict[str, list[str]] = {}
    general: list[str] = []
    english = t.get("field_errors")
    for path, msgs in _flatten(messages).items():
        path = ERROR_ALIASES.get(path, path)
        if path in FIELDS:
            fields.setdefault(path, []).extend([english.get(path, t["err_generic"])] if english else msgs)
        else:
            general.extend([_say(t, "validation-error", "")] if english else msgs)
    return fields, general


def _texts(t: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """The catalogue with the site's limits filled in (``{name}`` stays for form.js)."""
    limits = {**cfg["limits"], "n": cfg["limits"]["max_attachments"],
              "mb": cfg["limits"]["max_attachment_bytes"] // (1024 * 1024)}
    out = {k: _fmt(v, **limits) if k.startswith("file") and isinstance(v, str) else v for k, v in t.items()}
    for group in ("problems", "field_errors"):
        if isinstance(t.get(group), dict):
            out[group] = {k: _fmt(v, **limits) for k, v in t[group].items()}
    return out


def _source_url(site: sites.Site) -> str | None:
    """The article the reader came from, when it is on one of the site's origins."""
    url = request.values.get("u") or request.values.get("source_url")
    if not url or len(url) > 500:
        return None
    # `u` comes from the loader on the host page. The browser sends the frame's request with a
    # Referer unless the host page's referrer policy forbids it (a header the loader cannot
    # read): then the page asked to be kept out of other sites' records, and so it is.
    if request.args.get("u") and not request.referrer:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[x": not a URL at all
        return None
    if parts.scheme not in {"http", "https"} or not sites.origin_allowed(site, f"{parts.scheme}://{parts.netloc}"):
        return None
    # Origin and path only: query strings carry e-mail addresses, tokens and session ids.
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _src() -> str | None:
    src = (request.values.get("src") or "").strip()
    return src[:64] if src else None


def _uploads() -> list[FileStorage]:
    # An empty file input still sends one part (no name, application/octet-stream).
    return [f for f in request.files.getlist("files") if f.filename]


def _limit_body() -> None:
    """Room for the files a no-JavaScript form may carry, as the API allows (attachments.py)."""
    cfg = current_app.config
    request.max_content_length = (
        int(cfg["MAX_ATTACHMENTS"]) * int(cfg["MAX_ATTACHMENT_BYTES"]) + 2 * attachments.MAX_SUBMISSION_JSON
    )


def _form_page(site_key: str, *, embedded: bool) -> Response:
    site = _site_or_404(site_key)
    if request.method == "POST":
        _limit_body()
    ctx = _common(site, embedded=embedded)
    cfg = reference.public_config(site)
    t = ctx["t"] = _texts(ctx["t"], cfg)
    values: dict[str, Any] = {"confidential": True}
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    result = None
    status = 200
    if request.method == "POST":
        form = request.form
        uploads = _uploads()
        values = {k: form.get(k, "") for k in FIELDS}
        values["confidential"] = form.get("confidential") == "1"
        values["consent.accepted"] = form.get("consent.accepted") == "1"
        values["location.lat"] = form.get("location.lat", "")
        values["location.lon"] = form.get("location.lon", "")
        try:
            token = tokens.verify_form_token(form.get("form_token"), site.key)
        except tokens.FormTokenError as exc:
            general.append(_say(t, exc.code, str(exc)))
            token = None
        if token is not None and (form.get("hp") or "").strip():
            # The honeypot is invisible to people; only form-filling robots reach it.
            general.append(t["err_bot"])
        if not general:
            result = _create(site, _payload_from_form(form), uploads, token, t, errors, general)
        if result is None:
            status = 422
            if uploads:
                # Browsers never refill a file input: say so rather than let files vanish silently.
                errors.setdefault("files", []).append(t["files_again"])
    summary = [
        {"href": "#f-" + path.replace(".", "-"), "label": t[FIELDS[path]], "message": msgs[0]}
        for path in FIELDS
        for msgs in [errors.get(path)]
        if msgs
    ]
    resp = Response(
        render_template(
            "widget/form.html",
            **ctx,
            cfg=cfg,
            values=values,
            errors=errors,
            general=general,
            summary=summary,
            result=result,
            token=tokens.issue_form_token(site.key),
            source_url=_source_url(site),
            src=_src(),
            fmt=_fmt,
            required=_required(cfg),
            action=request.path,
            altcha_url=versioned_url("altcha.js") if cfg["altcha"] else None,
            altcha_challenge=url_for("altcha.challenge", site_key=site.key) if cfg["altcha"] else None,
        ),
        status=status,
        content_type="text/html; charset=utf-8",
    )
    return _secure(resp, frame_ancestors=_frame_ancestors(site) if embedded else "'none'",
                   style_nonce=ctx["style_nonce"], blob_images=True)


def _required(cfg: dict[str, Any]) -> set[str]:
    req: set[str] = set()
    for item in cfg.get("required_fields") or []:
        if "|" in item:
            continue  # one of several (phone or email): explained in text, not starred
        req.add("consent.accepted" if item == "consent" else item)
    return req


def _create(site: sites.Site, payload: dict[str, Any], uploads: list[FileStorage], token: Any,
            t: dict[str, Any], errors: dict[str, list[str]], general: list[str]) -> dict[str, Any] | None:
    """The no-JavaScript post through the API's own checks; None with ``errors``/``general`` filled."""
    from . import submissions

    src = _src()
    if src and SRC_PATTERN.match(src):
        payload["src"] = src
    # The token's nonce is the idempotency key, as in the API: a double post makes one submission.
    key = "form:" + token.nonce
    try:
        # Proof of work needs JavaScript: the page says so up front; a plain post is refused here.
        altcha_pow.require(site, payload, key)
        return attachments.create_with_files(
            site, payload, uploads, via="page" if request.path.startswith("/s/") else "form",
            idempotency_key=key).body
    except ValidationError as exc:
        fields, other = _field_errors(exc.messages, t)
        errors.update(fields)
        general.extend(other)
    except Problem as exc:
        kind = exc.type or ""
        if kind.startswith("altcha-"):
            general.append(t["altcha_nojs"])
        elif exc.errors and "files" in exc.errors:
            errors["files"] = [_say(t, kind, m) for m in exc.errors["files"]]
        else:
            general.append(_say(t, kind, exc.detail or t["err_server"]))
    except submissions.IdempotencyConflictError:
        general.append(_say(t, "idempotency-key-reused", t["err_bot"]))
    return None


@bp.route("/w/<site_key>/form", methods=["GET", "POST"])
def form(site_key: str) -> Response:
    """The form framed by a news site's banner."""
    return _form_page(site_key, embedded=True)


@bp.route("/s/<site_key>", methods=["GET", "POST"])
def standalone(site_key: str) -> Response:
    """The same form as a full page, for links, print and TV QR codes (``?src=`` kept)."""
    return _form_page(site_key, embedded=False)


# --- status lookup ----------------------------------------------------------------------


@bp.route("/w/<site_key>/track", methods=["GET", "POST"])
def track(site_key: str) -> Response:
    """Status, answer and rating for a tracking code; works framed, alone and without JavaScript."""
    site = _site_or_404(site_key)
    ctx = _common(site, embedded=True)
    t = ctx["t"]
    code = (request.values.get("code") or "").strip()[:40]
    contact = (request.form.get("contact") or "").strip()[:200]
    found = None
    message = None
    status = 200
    op = request.form.get("op", "lookup")
    if request.method == "POST":
        from . import submissions

        if code and contact:
            if op in {"rate", "data"}:
                message = _side_action(op, code, contact, t)
            found = submissions.lookup(code, contact, ctx["lang"])
        if found is None:
            message = t["not_found"]
            status = 404
    resp = Response(
        render_template(
            "widget/track.html",
            **ctx,
            code=code,
            contact=contact,
            found=found,
            message=message,
            action=request.path,
        ),
        status=status,
        content_type="text/html; charset=utf-8",
    )
    return _secure(resp, frame_ancestors=_frame_ancestors(site), style_nonce=ctx["style_nonce"])


# --- short error pages for plain form posts -----------------------------------------------


def _short_page(status: int, key: str, headers: dict[str, str], **values: Any) -> Response:
    """A small page in Vietnamese (English after it on English pages) instead of problem+json."""
    site_key = str((request.view_args or {}).get("site_key") or "")
    site = sites.get_site(site_key) if site_key else None
    asked = request.args.get("lang")
    if not asked and request.content_length and request.content_length < 64 * 1024:
        asked = request.form.get("lang")  # plain posts carry it in the body; never parse big uploads here
    lang = "en" if str(asked or (site.locale if site else "vi")).startswith("en") else "vi"
    texts = [_catalogue("vi")]
    if lang == "en":
        texts.append(_catalogue("en"))
    back = {"lang": lang}
    origin = request.args.get("origin")
    if site is not None and origin and sites.origin_allowed(site, origin):
        back["origin"] = sites.normalise_origin(origin)
    resp = Response(
        render_template(
            "widget/short.html", texts=texts, key=key, lang=lang, values=values, fmt=_fmt,
            css_url=versioned_url("form.css"), back=request.path + "?" + urlencode(back),
        ),
        status=status, content_type="text/html; charset=utf-8",
    )
    resp.headers.update(headers)
    framed = request.path.startswith("/w/") and site is not None
    return _secure(resp, frame_ancestors=_frame_ancestors(site) if framed and site else "'none'")


@bp.errorhandler(429)
def too_many_requests(exc: Exception) -> Response:
    """Rate-limited plain posts (limits.py attaches the limits to these views) get a page."""
    from .limits import retry_after_seconds

    wait = retry_after_seconds()
    return _short_page(429, "limited", {"Retry-After": str(wait), "Cache-Control": "no-store"},
                       minutes=max(1, -(-wait // 60)))


@bp.errorhandler(413)
def too_large(exc: Exception) -> Response:
    """A plain post bigger than all allowed files together: say which limit, in words."""
    cfg = current_app.config
    return _short_page(413, "too_large", {"Cache-Control": "no-store"},
                       n=cfg["MAX_ATTACHMENTS"], mb=int(cfg["MAX_ATTACHMENT_BYTES"]) // (1024 * 1024))


def _side_action(op: str, code: str, contact: str, t: dict[str, Any]) -> str:
    """Rating and data requests posted without JavaScript go through the same code as the API."""
    from . import submissions

    try:
        if op == "rate":
            if request.form.get("satisfied") not in {"0", "1"}:
                return t["err_choose"]
            comment = (request.form.get("comment") or "").strip()[:1000] or None
            submissions.rate(code, contact, request.form.get("satisfied") == "1", comment)
            return t["rate_thanks"]
        kind = request.form.get("kind")
        if kind not in {"withdraw_consent", "delete"}:
            return t["err_choose"]
        submissions.data_request(code, contact, kind)
        return t["data_ok"]
    except submissions.NotFoundError:
        return t["not_found"]
    except submissions.ConflictError as exc:
        return str(exc)
    except ValidationError as exc:
        return "; ".join(m for msgs in _flatten(exc.messages).values() for m in msgs)


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
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).date()  # Vietnam, UTC+7
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
    # The directives a host page adds for the widget, shown working under a nonce-based CSP.
    resp.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'nonce-{nonce}' {relay}; style-src 'self'; "
        f"frame-src {relay}; img-src 'self' data:; object-src 'none'; base-uri 'none'"
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp
