"""Widget pages: the framed form, the status lookup, the full-page form and the demo.

The same templates serve three audiences: the form framed by a news site
(``/w/<key>/form``), a plain page for links, print and TV QR codes
(``/s/<key>``), and browsers without JavaScript (both pages post back to
themselves and render the result on the server). Pages carry a strict CSP of
their own: scripts and styles from this origin only, no inline code, except one
nonce-bound ``<style>`` holding a site's validated theme colour.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Response, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from widget_server.errors import DomainError
from widget_server.intake import altcha, reference, sites, submissions, tokens
from widget_server.intake.schemas import flatten_errors
from widget_server.web import limits
from widget_server.web.api.body import upload_room
from widget_server.web.assets import versioned_url
from widget_server.web.pages.blueprint import bp
from widget_server.web.pages.cached import cached_get
from widget_server.web.pages.common import fmt, fmt_markup, frame_ancestors, number, page_context, secure
from widget_server.web.problems import page_message

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
    "notify": "notify_ask",
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
    "notify.by": "notify",
    "notify.consent": "notify",
    "notify.consent.version": "notify",
    "notify.consent.accepted": "notify",
}
# What the form sends the relay as ``src`` (the API's pattern; anything else is dropped).
SRC_PATTERN = re.compile(r"^[a-z0-9_.-]{1,64}$", re.IGNORECASE)
# Theme colours are checked before they reach CSS: a strict hex pattern, nothing else.

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
        # "Báo cho tôi khi có trả lời": sent only when ticked; ticking it is the separate consent.
        **({"notify": {"by": form.get("notify.by", ""),
                       "consent": {"version": form.get("notify.consent.version", ""), "accepted": True}}}
           if form.get("notify") == "1" else {}),
    }


def _field_errors(messages: Any, t: dict[str, Any]) -> tuple[dict[str, list[str]], list[str]]:
    """Errors keyed by form field, plus those that belong to no field, in the page's language."""
    fields: dict[str, list[str]] = {}
    general: list[str] = []
    english = t.get("field_errors")
    for path, msgs in flatten_errors(messages).items():
        path = ERROR_ALIASES.get(path, path)
        if path in FIELDS:
            fields.setdefault(path, []).extend([english.get(path, t["err_generic"])] if english else msgs)
        else:
            general.extend([t["problems"].get("validation-error", t["err_generic"])] if english else msgs)
    return fields, general


def _texts(t: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """The catalogue with the site's limits filled in (``{name}`` stays for form.js)."""
    limits = {**cfg["limits"], "n": cfg["limits"]["max_attachments"],
              "mb": cfg["limits"]["max_attachment_bytes"] // (1024 * 1024)}
    out = {k: fmt(v, **limits) if k.startswith("file") and isinstance(v, str) else v for k, v in t.items()}
    for group in ("problems", "field_errors"):
        if isinstance(t.get(group), dict):
            out[group] = {k: fmt(v, **limits) for k, v in t[group].items()}
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
    """Room for the files a no-JavaScript form may carry, as the API allows."""
    request.max_content_length = upload_room()


def _form_page(site_key: str, *, embedded: bool) -> Response:
    site = sites.require(site_key)
    if request.method in ("GET", "HEAD"):  # HEAD: the GET's headers (a link checker's, a crawler's)
        return cached_get(site, embedded=embedded, render=_render)
    _limit_body()
    ctx = page_context(site, embedded=embedded)
    cfg = reference.public_config(site)
    t = _texts(ctx["t"], cfg)
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    result = None
    status = 200
    form = request.form
    uploads = _uploads()
    values: dict[str, Any] = {k: form.get(k, "") for k in FIELDS}
    values["confidential"] = form.get("confidential") == "1"
    values["consent.accepted"] = form.get("consent.accepted") == "1"
    values["notify"] = form.get("notify") == "1"
    values["notify.by"] = form.get("notify.by", "")
    values["location.lat"] = form.get("location.lat", "")
    values["location.lon"] = form.get("location.lon", "")
    try:
        token = tokens.verify_form_token(form.get("form_token"), site.key)
    except tokens.FormTokenError as exc:
        # The page comes back with what was typed and a fresh token: sending again is what works
        # (a reload would post the old token again, and a new visit would lose the text).
        general.append(page_message(t, exc) if exc.code == "too-fast" else fmt(t["err_token_again"], submit=t["submit"]))
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
    html = _render(site, ctx, cfg, tokens.issue_form_token(site.key), limits.ip_busy(),
                   values=values, errors=errors, general=general, result=result)
    resp = Response(html, status=status, content_type="text/html; charset=utf-8")
    return secure(resp, frame_ancestors=frame_ancestors(site) if embedded else "'none'",
                  style_nonce=ctx["style_nonce"], blob_images=True)


def _render(site: sites.Site, ctx: dict[str, Any], cfg: dict[str, Any], token: str, busy: bool, *,
            values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
            general: list[str] | None = None, result: dict[str, Any] | None = None) -> str:
    """The form page's HTML. On a GET, ``token`` and the style nonce are placeholders that
    ``cached_get`` fills in per response; every other input is part of its cache key."""
    t = _texts(ctx["t"], cfg)
    ctx = {**ctx, "t": t}
    errors = errors or {}
    summary = [
        {"href": "#f-" + path.replace(".", "-"), "label": t[FIELDS[path]], "message": msgs[0]}
        for path in FIELDS
        for msgs in [errors.get(path)]
        if msgs
    ]
    return render_template(
        "widget/form.html",
        **ctx,
        cfg=cfg,
        values=values if values is not None else {"confidential": True},
        errors=errors,
        general=general or [],
        summary=summary,
        result=result,
        token=token,
        source_url=_source_url(site),
        src=_src(),
        fmt=fmt,
        fmtm=fmt_markup,
        num=lambda n: number(int(n), ctx["lang"]),
        qr_url=url_for("pages.track_qr", site_key=site.key) + "?lang=" + ctx["lang"] + "&code=",
        required=_required(cfg),
        action=request.path,
        # A busy address (carrier NAT) is asked for proof of work even on sites without ALTCHA:
        # ``altcha_now`` loads and starts the solver with the page; otherwise form.js loads it
        # when the relay asks (an altcha-required problem).
        altcha_url=versioned_url("altcha.js"),
        altcha_challenge=url_for("api.altcha_challenge", site_key=site.key),
        altcha_now=bool(cfg["altcha"]) or busy,
    )


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
    src = _src()
    # The token's nonce is the idempotency key, as in the API: a double post makes one submission.
    key = "form:" + token.nonce
    try:
        # Proof of work needs JavaScript: the page says so up front; a plain post is refused here.
        altcha.require(site, payload, key, busy=limits.ip_busy())
        return submissions.create_with_files(
            site, payload, uploads, via="page" if request.path.startswith("/s/") else "form",
            idempotency_key=key, src=src if src and SRC_PATTERN.match(src) else None).body
    except DomainError as exc:
        if exc.code.startswith("altcha-"):
            general.append(t["altcha_nojs"])
        elif exc.code == "idempotency-key-reused":  # this page's token sent other text before
            general.append(t["err_used"])
        elif exc.errors and "files" in exc.errors:
            errors["files"] = [page_message(t, exc) if t.get("problems") else m for m in exc.errors["files"]]
        elif exc.errors:
            fields, other = _field_errors(exc.errors, t)
            errors.update(fields)
            general.extend(other)
        else:
            general.append(page_message(t, exc))
    return None


@bp.route("/w/<site_key>/form", methods=["GET", "POST"])
@limits.rate("submit")
def form(site_key: str) -> Response:
    """The form framed by a news site's banner."""
    return _form_page(site_key, embedded=True)


@bp.route("/s/<site_key>", methods=["GET", "POST"])
@limits.rate("submit")
def standalone(site_key: str) -> Response:
    """The same form as a full page, for links, print and TV QR codes (``?src=`` kept)."""
    if request.method == "GET" and request.args.get("src"):
        # A scan of a print or TV QR code opens the form here: the channel's "open" (README, Reach).
        from widget_server.reach.beacons import count_visit

        count_visit(site_key, request.args["src"], request.headers.get("User-Agent", ""))
    return _form_page(site_key, embedded=False)
