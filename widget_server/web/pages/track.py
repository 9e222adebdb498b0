"""The status lookup page: code and contact in, status, answer, rating and data requests out."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request

from widget_server.errors import DomainError
from widget_server.intake import sites, tracking
from widget_server.web import limits
from widget_server.web.pages.blueprint import bp
from widget_server.web.pages.common import frame_ancestors, page_context, secure
from widget_server.vocab import DATA_REQUEST_KINDS
from widget_server.web.problems import page_message

@bp.route("/w/<site_key>/track", methods=["GET", "POST"])
@limits.rate("lookup", methods=["POST"])
def track(site_key: str) -> Response:
    """Status, answer and rating for a tracking code; works framed, alone and without JavaScript."""
    site = sites.require(site_key)
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
            comment = (request.form.get("comment") or "").strip()[:1000] or None
            tracking.rate(code, contact, request.form.get("satisfied") == "1", comment)
            return t["rate_thanks"]
        kind = request.form.get("kind")
        if kind not in DATA_REQUEST_KINDS:
            return t["err_choose"]
        tracking.data_request(code, contact, kind)
        return t["data_ok"]
    except DomainError as exc:
        if exc.code == "tracking-code-mistyped":
            raise
        return t["not_found"] if exc.code == "submission-not-found" else page_message(t, exc)
