"""The status lookup page: code and contact in, status, answer, rating and data requests out."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, current_app, render_template, request, url_for
from marshmallow import ValidationError

from widget_server.errors import DomainError
from widget_server.intake import codes, sites, tracking
from widget_server.intake.schemas import RatingCreateSchema
from widget_server.web import limits
from widget_server.web.pages.blueprint import bp
from widget_server.web.pages.common import fmt, frame_ancestors, page_context, secure
from widget_server import notify
from widget_server.vocab import CITIZEN_REQUEST_KINDS
from widget_server.web.problems import page_message

_COMMENT = RatingCreateSchema().fields["comment"]

@bp.route("/w/<site_key>/track", methods=["GET", "POST"])
@limits.rate("lookup", methods=["POST"])
def track(site_key: str) -> Response:
    """Status, answer and rating for a tracking code; works framed, alone and without JavaScript.

    Also for a site deactivated since: the links in its citizens' notices lead here."""
    site = sites.require(site_key, inactive=True)
    ctx = page_context(site, embedded=True)
    t = ctx["t"]
    code = (request.values.get("code") or "").strip()[:40]
    contact = (request.form.get("contact") or "").strip()[:200]
    found = None
    message = None
    status = 200
    op = request.form.get("op", "lookup")
    if request.method == "POST":
        if code and contact:
            try:
                if op in {"rate", "data"}:
                    message = _side_action(op, code, contact, t)
                found = tracking.lookup(code, contact, ctx["lang"])
            except DomainError as exc:
                if exc.code != "tracking-code-mistyped":
                    raise
                message = t["code_mistyped"]
                status = 422
            if found is not None:
                found["notify"] = notify.requests.state_for(found["tracking_code"])
        if found is None and status == 200:
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
            fmt=fmt,
        ),
        status=status,
        content_type="text/html; charset=utf-8",
    )
    return secure(resp, frame_ancestors=frame_ancestors(site), style_nonce=ctx["style_nonce"])


def _side_action(op: str, code: str, contact: str, t: dict[str, Any]) -> str:
    """Rating and data requests posted without JavaScript go through the same code as the API."""
    try:
        if op == "rate":
            if request.form.get("satisfied") not in {"0", "1"}:
                return t["err_choose"]
            try:  # counted and cleaned as the API does it, never cut
                comment = _COMMENT.deserialize(request.form.get("comment") or None) or None
            except ValidationError as exc:
                return " ".join(str(m) for m in exc.messages)
            tracking.rate(code, contact, request.form.get("satisfied") == "1", comment)
            return t["rate_thanks"]
        kind = request.form.get("kind")
        if kind not in CITIZEN_REQUEST_KINDS:
            return t["err_choose"]
        if kind == "withdraw_notify":  # the relay's own consent: nothing goes to the central system
            notify.requests.withdraw(code, contact)
            return t["notify_withdrawn"]
        out = tracking.data_request(code, contact, kind)
        return t["data_cancelled"] if out["forward_cancelled"] else t["data_ok"]
    except DomainError as exc:
        if exc.code == "tracking-code-mistyped":
            raise
        return t["not_found"] if exc.code == "submission-not-found" else page_message(t, exc)


@bp.get("/w/<site_key>/qr.svg")
def track_qr(site_key: str) -> Response:
    """A QR code of the lookup page for one tracking code, for the reader's phone.

    Made here (segno), never by an outside service. Any well-formed code gets one, found
    or not: the image says nothing a reader did not already have, and looks nothing up.
    """
    import segno

    site = sites.require(site_key, inactive=True)
    code = codes.normalise(request.args.get("code", ""))
    if code is None:
        abort(404)
    lang = "en" if request.args.get("lang") == "en" else "vi"
    url = (current_app.config["PUBLIC_URL"] + url_for("pages.track", site_key=site.key)
           + "?" + urlencode({"code": code, "lang": lang}))
    out = io.BytesIO()
    # Level "m" (15 %) reads from a phone held to a dim or scratched screen.
    segno.make(url, error="m", micro=False).save(out, kind="svg", scale=4, border=4, xmldecl=False,
                                                 svgns=True, nl=False, title=code)
    resp = Response(out.getvalue(), content_type="image/svg+xml")
    resp.headers["Cache-Control"] = "public, max-age=86400"
    resp.headers["Content-Security-Policy"] = "default-src 'none'"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
