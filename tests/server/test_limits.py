"""Rate limits: per IP and per site, 429 as problem+json with Retry-After, Redis storage."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import assert_problem
from widget_server import create_app
from widget_server.store import db
from widget_server.intake import sites, tokens


_APPS: list[Any] = []


@pytest.fixture(autouse=True)
def _dispose_apps() -> Any:
    yield
    while _APPS:
        db.get_engine(_APPS.pop()).dispose()


def _make(app_config: dict[str, Any], **extra: Any) -> Any:
    config = {**app_config, "RATELIMIT_ENABLED": True,
              "RATELIMIT_KEY_PREFIX": "phanhoi-test-" + uuid.uuid4().hex, **extra}
    app = create_app(config)
    _APPS.append(app)
    return app


def body_for(site: sites.Site) -> dict[str, Any]:
    from tests.helpers import valid_submission
    from widget_server.intake import reference

    body = valid_submission()
    body["consent"]["version"] = reference.consent_for(site.name).version
    return body


def _auth(secret: str, key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Idempotency-Key": key}


@pytest.fixture
def limited(app_config: dict[str, Any]) -> Any:
    app = _make(app_config, RATELIMIT_SUBMIT="2 per minute", RATELIMIT_SUBMIT_SITE="100 per hour",
                RATELIMIT_LOOKUP="3 per minute", RATELIMIT_RATING="2 per minute",
                RATELIMIT_LOOKUP_CODE="100 per hour")
    with app.app_context():
        yield app


def test_submissions_limited_per_ip(limited: Any, submission_body: dict[str, Any]) -> None:
    site, secret = sites.create_site("Báo A", ["https://a.example"])
    submission_body = body_for(site)
    client = limited.test_client()
    for i in range(2):
        r = client.post("/api/v1/submissions", json=submission_body, headers=_auth(secret, f"k{i}"))
        assert r.status_code == 201, r.get_json()
    r = client.post("/api/v1/submissions", json=submission_body, headers=_auth(secret, "k3"))
    body = assert_problem(r, 429, "rate-limited")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 61
    assert "thử lại" in body["detail"] and "Too Many" in body["title"]
    # Another address still gets through.
    r = client.post("/api/v1/submissions", json=submission_body, headers=_auth(secret, "k4"),
                    environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 201


def test_submissions_limited_per_site(app_config: dict[str, Any], submission_body: dict[str, Any]) -> None:
    app = _make(app_config, RATELIMIT_SUBMIT="100 per minute", RATELIMIT_SUBMIT_SITE="2 per hour")
    with app.app_context():
        site_a, secret_a = sites.create_site("Báo A", ["https://a.example"])
        _b, secret_b = sites.create_site("Báo B", ["https://b.example"])
        submission_body = body_for(site_a)
        client = app.test_client()
        for i in range(2):
            r = client.post("/api/v1/submissions", json=submission_body,
                            headers=_auth(secret_a, f"a{i}"), environ_base={"REMOTE_ADDR": f"10.1.0.{i}"})
            assert r.status_code == 201
        r = client.post("/api/v1/submissions", json=submission_body, headers=_auth(secret_a, "a9"),
                        environ_base={"REMOTE_ADDR": "10.1.0.77"})
        assert_problem(r, 429, "rate-limited")
        # Site B has its own budget.
        r = client.post("/api/v1/submissions", json=body_for(_b), headers=_auth(secret_b, "b1"),
                        environ_base={"REMOTE_ADDR": "10.1.0.78"})
        assert r.status_code == 201


def test_form_token_submissions_counted_per_site(app_config: dict[str, Any],
                                                 submission_body: dict[str, Any]) -> None:
    app = _make(app_config, RATELIMIT_SUBMIT="100 per minute", RATELIMIT_SUBMIT_SITE="1 per hour")
    with app.app_context():
        site, _secret = sites.create_site("Báo A", ["https://a.example"])
        submission_body = body_for(site)
        client = app.test_client()
        with app.test_request_context():
            t1, t2 = tokens.issue_form_token(site.key), tokens.issue_form_token(site.key)
        r = client.post("/api/v1/submissions", json=submission_body,
                        headers={"X-Form-Token": t1, "Origin": "http://relay.test"})
        assert r.status_code == 201, r.get_json()
        r = client.post("/api/v1/submissions", json=submission_body,
                        headers={"X-Form-Token": t2, "Origin": "http://relay.test"},
                        environ_base={"REMOTE_ADDR": "10.2.0.1"})
        assert_problem(r, 429, "rate-limited")


def test_lookup_limited(limited: Any) -> None:
    client = limited.test_client()
    for _ in range(3):
        assert_problem(client.get("/api/v1/submissions/PH-AAAA-AAAAT?contact=0912345678"), 404)
    r = client.get("/api/v1/submissions/PH-AAAA-AAAAT?contact=0912345678")
    assert_problem(r, 429, "rate-limited")
    assert int(r.headers["Retry-After"]) >= 1


def test_lookup_limited_per_code(app_config: dict[str, Any]) -> None:
    app = _make(app_config, RATELIMIT_LOOKUP="100 per minute", RATELIMIT_LOOKUP_CODE="2 per hour")
    with app.app_context():
        client = app.test_client()
        for i in range(2):
            assert_problem(client.get(f"/api/v1/submissions/PH-BBBB-BBBBJ?contact=09123456{i}0",
                                      environ_base={"REMOTE_ADDR": f"10.3.0.{i}"}), 404)
        r = client.get("/api/v1/submissions/ph-bbbb-bbbbj?contact=0912345699",
                       environ_base={"REMOTE_ADDR": "10.3.0.50"})
        assert_problem(r, 429, "rate-limited")


@pytest.mark.parametrize("path", ["rating", "data-request"])
def test_rating_and_data_request_limited(limited: Any, path: str) -> None:
    client = limited.test_client()
    body = {"contact": "0912345678", "satisfied": True} if path == "rating" else {
        "contact": "0912345678", "kind": "delete"}
    for _ in range(2):
        assert_problem(client.post(f"/api/v1/submissions/PH-CCCC-CCCCF/{path}", json=body), 404)
    assert_problem(client.post(f"/api/v1/submissions/PH-CCCC-CCCCF/{path}", json=body), 429,
                   "rate-limited")


def test_page_posts_limited_with_vietnamese_page(limited: Any) -> None:
    if "pages.form" not in limited.view_functions:
        pytest.skip("form page not present")
    site, _secret = sites.create_site("Báo A", ["https://a.example"])
    client = limited.test_client()
    for _ in range(2):
        r = client.post(f"/w/{site.key}/form", data={"title": "x"})
        assert r.status_code != 429
    r = client.post(f"/w/{site.key}/form", data={"title": "x"})
    assert r.status_code == 429
    assert r.mimetype == "text/html"
    assert "Vui lòng đợi" in r.get_data(as_text=True)
    assert int(r.headers["Retry-After"]) >= 1
    # Reading the form is not limited.
    assert client.get(f"/w/{site.key}/form").status_code == 200


def test_proxy_hops_take_client_from_forwarded_for(app_config: dict[str, Any]) -> None:
    app = _make(app_config, PROXY_HOPS=1, RATELIMIT_LOOKUP="1 per minute",
                RATELIMIT_LOOKUP_CODE="100 per hour")
    with app.app_context():
        client = app.test_client()
        url = "/api/v1/submissions/PH-DDDD-DDDD7?contact=0912345678"
        assert_problem(client.get(url, headers={"X-Forwarded-For": "203.0.113.1"}), 404)
        assert_problem(client.get(url, headers={"X-Forwarded-For": "203.0.113.1"}), 429)
        assert_problem(client.get(url, headers={"X-Forwarded-For": "203.0.113.2"}), 404)


def test_forwarded_for_ignored_without_proxy_hops(app_config: dict[str, Any]) -> None:
    app = _make(app_config, RATELIMIT_LOOKUP="1 per minute", RATELIMIT_LOOKUP_CODE="100 per hour")
    with app.app_context():
        client = app.test_client()
        url = "/api/v1/submissions/PH-DDDD-DDDD7?contact=0912345678"
        assert_problem(client.get(url, headers={"X-Forwarded-For": "203.0.113.1"}), 404)
        # Spoofing the header does not buy a fresh budget.
        assert_problem(client.get(url, headers={"X-Forwarded-For": "203.0.113.2"}), 429)


def test_disabled_by_config(app: Any, client: Any) -> None:
    for _ in range(15):
        assert_problem(client.get("/api/v1/submissions/PH-EEEE-EEEEZ?contact=0912345678"), 404)


@pytest.mark.redis
def test_redis_storage_shared_between_instances(app_config: dict[str, Any]) -> None:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = "phanhoi-test-" + uuid.uuid4().hex
    common = {**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": url,
              "RATELIMIT_KEY_PREFIX": prefix, "RATELIMIT_LOOKUP": "2 per minute",
              "RATELIMIT_LOOKUP_CODE": "100 per hour", "RATELIMIT_SWALLOW_ERRORS": False}
    one, two = create_app(common), create_app(common)
    _APPS.extend([one, two])
    try:
        url_ = "/api/v1/submissions/PH-FFFF-FFFFQ?contact=0912345678"
        with one.app_context():
            assert_problem(one.test_client().get(url_), 404)
        with two.app_context():
            assert_problem(two.test_client().get(url_), 404)
            r = two.test_client().get(url_)
            assert_problem(r, 429, "rate-limited")
            assert int(r.headers["Retry-After"]) >= 1
        keys = redis.Redis.from_url(url).keys(f"*{prefix}*")
        assert keys
    finally:
        conn = redis.Redis.from_url(url)
        for key in conn.scan_iter(f"*{prefix}*"):
            conn.delete(key)
        conn.close()


def test_environment_selects_storage(monkeypatch: pytest.MonkeyPatch, app_config: dict[str, Any]) -> None:
    monkeypatch.setenv("PHANHOI_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/15")
    config = {k: v for k, v in app_config.items() if k != "RATELIMIT_ENABLED"}
    app = create_app(config)
    _APPS.append(app)
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/15"
    limiter = app.extensions["phanhoi_limiter"]
    assert type(limiter._storage).__name__.lower().startswith("redis")
