"""The OpenAPI description covers every API route and matches what the API answers."""

from __future__ import annotations

import re

from widget_server.web.openapi import OPERATIONS


def _flask_to_openapi(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_api_route_is_described(app, client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    described = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/api/") or rule.rule in {"/healthz", "/readyz"}):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (_flask_to_openapi(rule.rule), method.lower()) in described, rule.rule


def test_every_described_operation_has_a_view(app):
    for (path, method), op in OPERATIONS.items():
        assert op["endpoint"] in app.view_functions, (path, method)


def test_components_come_from_the_marshmallow_schemas(client):
    spec = client.get("/openapi.json").get_json()
    create = spec["components"]["schemas"]["SubmissionCreate"]
    assert {"category", "title", "content", "submitter", "consent"} <= set(create["required"])
    assert create["properties"]["title"]["maxLength"] == 200
    assert "Problem" in spec["components"]["schemas"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (path, method)
            errors = [c for c in op["responses"] if c.startswith(("4", "5"))]
            for code in errors:
                assert "application/problem+json" in op["responses"][code]["content"]


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_readyz_fails_when_the_database_is_gone(app_config, tmp_path):
    from tests.helpers import assert_problem
    from widget_server import create_app

    app = create_app({**app_config, "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.db"})
    assert_problem(app.test_client().get("/readyz"), 503, "not-ready")


def test_the_headers_a_new_submission_answers_with_are_described(client, site, submission_body):
    """``Location`` and ``Idempotent-Replayed``, sent with the 201, are in its description, and
    ``status_url`` is described as the link to give a person."""
    spec = client.get("/openapi.json").get_json()
    created = spec["paths"]["/api/v1/submissions"]["post"]["responses"]["201"]
    answered = client.post("/api/v1/submissions", json=submission_body,
                           headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "k-doc"})
    assert answered.status_code == 201 and "Location" in answered.headers
    assert {"Location", "Idempotent-Replayed"} <= set(created["headers"])
    receipt = spec["components"]["schemas"]["SubmissionReceipt"]["properties"]["status_url"]
    assert "status page" in receipt["description"]


def test_the_configs_304_is_described_and_no_limit_it_does_not_have(app_config):
    from widget_server import create_app
    from widget_server.intake import sites
    from widget_server.store import db

    app = create_app({**app_config, "RATELIMIT_ENABLED": True})  # the limits as served
    try:
        client = app.test_client()
        with app.app_context():
            site, _token = sites.create_site("Báo Thanh Hóa", ["https://baothanhhoa.example"])
        described = client.get("/openapi.json").get_json()["paths"]["/api/v1/sites/{site_key}/config"]["get"]
        url = f"/api/v1/sites/{site.key}/config"
        first = client.get(url)
        held = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert held.status_code == 304 and "304" in described["responses"]
        assert "ETag" in described["responses"]["200"]["headers"]
        # No rate limit applies to the config (the widget asks for it on every page view).
        assert {client.get(url).status_code for _ in range(120)} == {200}
        assert "429" not in described["responses"]
    finally:
        db.get_engine(app).dispose()


def test_a_503_of_a_store_that_cannot_write_is_described(app_config, database_url):
    """The writes answer 503 with Retry-After when the store cannot take them: described so."""
    from tests.helpers import store_locked, valid_submission
    from widget_server import create_app
    from widget_server.intake import reference, sites
    from widget_server.store import db

    app = create_app({**app_config, "STORE_WAIT_SECONDS": 0.5})
    try:
        client = app.test_client()
        with app.app_context():
            site, token = sites.create_site("Báo Thanh Hóa", ["https://baothanhhoa.example"])
            body = valid_submission()
            body["consent"]["version"] = reference.consent_for(site.name).version
        with store_locked(database_url, release_after=10):
            refused = client.post("/api/v1/submissions", json=body,
                                  headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-503"})
        assert refused.status_code == 503
        paths = client.get("/openapi.json").get_json()["paths"]
        for path in ("/api/v1/submissions", "/api/v1/submissions/{tracking_code}/lookup",
                     "/api/v1/submissions/{tracking_code}/rating",
                     "/api/v1/submissions/{tracking_code}/data-request"):
            assert "503" in paths[path]["post"]["responses"], path
    finally:
        db.get_engine(app).dispose()
