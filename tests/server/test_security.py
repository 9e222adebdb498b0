"""Security headers on every response; CORS only for registered origins, never on submissions."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from widget_server import create_app
from widget_server.store import db
from widget_server.web import security


def test_api_responses_carry_strict_headers(client: Any, site: Any) -> None:
    r = client.get(f"/api/v1/sites/{site[0].key}/config")
    assert r.status_code == 200
    assert r.headers["Content-Security-Policy"] == security.STRICT_CSP
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "geolocation=()" in r.headers["Permissions-Policy"]
    assert "camera=()" in r.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in r.headers  # PUBLIC_URL is http here
    # The view's own cache policy is kept.
    assert r.headers["Cache-Control"].startswith("public")


@pytest.mark.parametrize("path", ["/api/v1/submissions/PH-AAAA-AAAAT?contact=0912345678",
                                  "/api/v1/nope", "/openapi.json", "/healthz"])
def test_errors_and_other_answers_too(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    if path.startswith("/api/"):
        assert r.headers["Cache-Control"] == "no-store"


def test_post_errors_carry_headers(client: Any) -> None:
    r = client.post("/api/v1/submissions", data=b"{", content_type="application/json")
    assert r.status_code >= 400
    assert r.headers["Content-Security-Policy"] == security.STRICT_CSP
    assert "Access-Control-Allow-Origin" not in r.headers


def test_hsts_when_public_url_is_https(app_config: dict[str, Any]) -> None:
    app = create_app({**app_config, "PUBLIC_URL": "https://phanhoi.example"})
    r = app.test_client().get("/healthz")
    db.get_engine(app).dispose()
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


def test_pages_keep_their_own_policy(client: Any, site: Any) -> None:
    r = client.get(f"/w/{site[0].key}/form")
    if r.status_code == 404:
        pytest.skip("form page not present")
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors https://baothanhhoa.example" in csp
    assert "geolocation=(self)" in r.headers["Permissions-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] in {"no-referrer", "strict-origin-when-cross-origin"}
    assert "X-Frame-Options" not in r.headers  # framing is allowed for the registered origins


def test_site_config_cors_for_registered_origin_only(client: Any, site: Any) -> None:
    url = f"/api/v1/sites/{site[0].key}/config"
    r = client.get(url, headers={"Origin": "https://baothanhhoa.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://baothanhhoa.example"
    assert "Origin" in r.headers["Vary"]
    r = client.get(url, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Origin" in r.headers["Vary"]
    r = client.get(url)
    assert "Access-Control-Allow-Origin" not in r.headers
    r = client.get("/api/v1/sites/pk_nope/config", headers={"Origin": "https://baothanhhoa.example"})
    assert "Access-Control-Allow-Origin" not in r.headers


def test_no_cors_on_submissions(client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    origin = {"Origin": "https://baothanhhoa.example"}
    r = client.options("/api/v1/submissions", headers={
        **origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert "Access-Control-Allow-Origin" not in r.headers
    r = client.post("/api/v1/submissions", json=submission_body, headers={
        **origin, "Authorization": f"Bearer {site[1]}", "Idempotency-Key": "c1"})
    assert r.status_code == 201
    assert "Access-Control-Allow-Origin" not in r.headers
    r = client.post(f"/api/v1/submissions/{r.get_json()['tracking_code']}/lookup", json={"contact": "0912345678"},
                   headers=origin)
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers
    assert r.headers["Cache-Control"] == "no-store"


def test_browser_form_from_foreign_origin_refused(client: Any, app: Any, site: Any,
                                                   submission_body: dict[str, Any]) -> None:
    from widget_server.intake import tokens

    with app.test_request_context():
        token = tokens.issue_form_token(site[0].key)
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"X-Form-Token": token, "Origin": "https://evil.example"})
    assert r.status_code == 403
    assert "Access-Control-Allow-Origin" not in r.headers


def test_request_ids_differ_between_forked_workers(app: Any) -> None:
    """gunicorn forks its workers from one process: each must make ids of its own, not the
    parent's sequence again (a generator seeded once, before the fork, would)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        try:
            with app.test_request_context():
                os.write(write_end, ",".join(security.request_id() for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with app.test_request_context():
        parent = {security.request_id() for _ in range(3)}
    with os.fdopen(read_end) as pipe:
        child = set(pipe.read().split(","))
    os.waitpid(pid, 0)
    assert len(child) == 3 and len(parent) == 3 and not child & parent
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in child | parent)


def test_headers_are_filled_in_on_every_answer_and_a_views_own_kept(app_config: dict[str, Any]) -> None:
    """The headers are added where the server gets the answer (``SecurityHeaders``): an answer
    of the relay's error handler, a file, a view's own policy or cache rule kept, a view's own
    ``X-Request-Id`` replaced by the relay's, and each header once."""
    from flask import Response

    app = create_app({**app_config, "PUBLIC_URL": "https://phanhoi.example"})

    @app.get("/api/v1/bench-own")
    def own() -> Response:
        return Response("{}", content_type="application/json", headers={
            "Content-Security-Policy": "default-src 'self'", "Cache-Control": "max-age=60",
            "X-Request-Id": "view-made-1234"})

    @app.get("/boom")
    def boom() -> Response:
        raise RuntimeError("boom")

    client = app.test_client()
    try:
        kept = client.get("/api/v1/bench-own")
        assert kept.headers["Content-Security-Policy"] == "default-src 'self'"
        assert kept.headers["Cache-Control"] == "max-age=60"
        assert "X-Frame-Options" not in kept.headers  # the view's policy decides framing
        assert re.fullmatch(r"[0-9a-f]{32}", kept.headers["X-Request-Id"])
        failed = client.get("/boom")
        files = client.get("/static/widget/loader.js")
        for r in (kept, failed, files):
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Strict-Transport-Security"].startswith("max-age=")
            names = [name.lower() for name, _ in r.headers.items()]
            assert len(names) == len(set(names) - {"vary"}) + names.count("vary")
        assert failed.status_code == 500 and failed.headers["Content-Security-Policy"] == security.STRICT_CSP
        assert failed.headers["X-Frame-Options"] == "DENY"
        assert files.status_code == 200 and "Cache-Control" in files.headers
        # A path with its slashes doubled reaches the same view: still never cached.
        doubled = client.get("/", environ_overrides={"PATH_INFO": "//api/v1/nope"})
        assert doubled.status_code == 404
        assert doubled.headers["Cache-Control"] == "no-store"
    finally:
        db.get_engine(app).dispose()
