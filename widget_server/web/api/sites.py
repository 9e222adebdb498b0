"""A site's public configuration, its proof-of-work challenge and its aggregate figures."""

from __future__ import annotations

import hashlib

from flask import Response, current_app, jsonify, request

from widget_server.intake import altcha, reference, sites, stats
from widget_server.store import versions
from widget_server.web.api.blueprint import bp
from widget_server.web.api.body import bearer_token
from widget_server.web.problems import Problem
from widget_server.web.schemas import SiteConfigSchema, StatsSchema, respond


@bp.get("/sites/<site_key>/config")
def site_config(site_key: str) -> Response:
    """Public configuration of a site: categories, agencies, communes, consent text."""
    site = sites.require(site_key)
    # The JSON and its ETag are made once per version of the sites and reference lists.
    body, etag = versions.cache("site_config_json", "sites", "reference").get(
        site.key, lambda: _config_json(site))
    if request.if_none_match.contains_weak(etag):
        resp = Response(status=304)
    else:
        resp = Response(body, mimetype="application/json")
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def _config_json(site: sites.Site) -> tuple[bytes, str]:
    body = respond(SiteConfigSchema(), reference.public_config(site)).get_data()
    return body, hashlib.sha256(body).hexdigest()[:32]


@bp.get("/sites/<site_key>/altcha")
def altcha_challenge(site_key: str) -> Response:
    """A proof-of-work challenge for the site's form (ALTCHA v1, SHA-256)."""
    site = sites.require(site_key)
    # ALTCHA's own documented shape, passed through as its solver expects it.
    resp = jsonify(altcha.new_challenge(site.key))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/sites/<site_key>/stats")
def site_stats(site_key: str) -> Response:
    """Aggregate figures for a site: received, answered, overdue, on-time and satisfaction rates.

    Only for the site itself: ``Authorization: Bearer <its secret key>``.
    """
    token = bearer_token()
    owner = sites.site_for_secret(token) if token else None
    if owner is None or owner.key != site_key:
        raise Problem(401, "Cần khóa bí mật của trang này (Authorization: Bearer sk_…).",
                      type="invalid-secret", headers={"WWW-Authenticate": 'Bearer realm="phanhoi"'})
    since = stats.parse_since(request.args.get("since"))
    max_age = int(current_app.config["STATS_CACHE_SECONDS"])
    resp = respond(StatsSchema(), stats.cached(owner.id, since, max_age))
    resp.headers["Cache-Control"] = f"private, max-age={max_age}"
    return resp
