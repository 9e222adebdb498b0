"""Rate limits: per IP and per site, 429 as problem+json with Retry-After, Redis storage."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import request

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


def form_post(app: Any, client: Any, site: sites.Site, body: dict[str, Any], ip: str = "127.0.0.1",
              phone: str = "0912345678") -> Any:
    """A browser's submission: a fresh form token, as the form page gives one."""
    with app.test_request_context():
        token = tokens.issue_form_token(site.key)
    body = {**body, "submitter": {**body["submitter"], "phone": phone}}
    return client.post("/api/v1/submissions", json=body, environ_base={"REMOTE_ADDR": ip},
                       headers={"X-Form-Token": token, "Origin": "http://relay.test"})


def test_submissions_limited_per_ip(limited: Any) -> None:
    site, _secret = sites.create_site("Báo A", ["https://a.example"])
    client = limited.test_client()
    for i in range(2):
        r = form_post(limited, client, site, body_for(site), phone=f"091234567{i}")
        assert r.status_code == 201, r.get_json()
    r = form_post(limited, client, site, body_for(site), phone="0912345679")
    body = assert_problem(r, 429, "rate-limited")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 61
    assert "thử lại" in body["detail"] and "Too Many" in body["title"]
    # Another address still gets through.
    r = form_post(limited, client, site, body_for(site), ip="10.0.0.9", phone="0912345679")
    assert r.status_code == 201


def test_submissions_limited_per_site(app_config: dict[str, Any], submission_body: dict[str, Any]) -> None:
    # A partner's server has its site's quota (RATELIMIT_PARTNER), whatever addresses it uses.
    app = _make(app_config, RATELIMIT_PARTNER="2 per hour")
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
        assert_problem(client.post("/api/v1/submissions/PH-AAAA-AAAAT/lookup", json={"contact": "0912345678"}), 404)
    r = client.post("/api/v1/submissions/PH-AAAA-AAAAT/lookup", json={"contact": "0912345678"})
    assert_problem(r, 429, "rate-limited")
    assert int(r.headers["Retry-After"]) >= 1


def test_lookup_limited_per_code(app_config: dict[str, Any]) -> None:
    app = _make(app_config, RATELIMIT_LOOKUP="100 per minute", RATELIMIT_LOOKUP_CODE="2 per hour")
    with app.app_context():
        client = app.test_client()
        for i in range(2):
            assert_problem(client.post("/api/v1/submissions/PH-BBBB-BBBBJ/lookup", json={"contact": f"09123456{i}0"},
                                      environ_base={"REMOTE_ADDR": f"10.3.0.{i}"}), 404)
        r = client.post("/api/v1/submissions/ph-bbbb-bbbbj/lookup", json={"contact": "0912345699"},
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
    for _ in range(3):  # failed posts do not count
        r = client.post(f"/w/{site.key}/form", data={"title": "x"})
        assert r.status_code == 422
    for i in range(2):  # accepted ones do, the API's and the page's alike
        assert form_post(limited, client, site, body_for(site), phone=f"091234567{i}").status_code == 201
    r = client.post(f"/w/{site.key}/form", data={"title": "x"})
    assert r.status_code == 429
    assert r.mimetype == "text/html"
    assert "Vui lòng đợi" in r.get_data(as_text=True)
    assert int(r.headers["Retry-After"]) >= 1
    # Reading the form is not limited.
    assert client.get(f"/w/{site.key}/form").status_code == 200


def _limiter_checks(app: Any, monkeypatch: Any, note: Any) -> list[str]:
    """What ``note()`` says of each request Flask-Limiter is asked about, as they come."""
    limiter = app.extensions["phanhoi_limiter"]
    asked: list[str] = []
    check = limiter._check_request_limit
    monkeypatch.setattr(limiter, "_check_request_limit",
                        lambda *a, **k: (asked.append(note()), check(*a, **k))[1])
    return asked


def test_showing_a_form_asks_the_limiter_nothing(limited: Any, monkeypatch: Any) -> None:
    """Every limit of the form pages counts POSTs: a GET goes straight to the view, while a POST
    still passes through the limiter (the test above shows it is counted)."""
    site, _secret = sites.create_site("Báo A", ["https://a.example"])
    asked = _limiter_checks(limited, monkeypatch, lambda: request.method)
    client = limited.test_client()
    for path in (f"/w/{site.key}/form", f"/s/{site.key}"):
        assert client.get(path).status_code == 200
    assert asked == []
    assert client.post(f"/w/{site.key}/form", data={"title": "x"}).status_code == 422
    assert asked == ["POST"]


def test_proxy_hops_take_client_from_forwarded_for(app_config: dict[str, Any]) -> None:
    app = _make(app_config, PROXY_HOPS=1, RATELIMIT_LOOKUP="1 per minute",
                RATELIMIT_LOOKUP_CODE="100 per hour")
    with app.app_context():
        client = app.test_client()
        url, body = "/api/v1/submissions/PH-DDDD-DDDD7/lookup", {"contact": "0912345678"}
        assert_problem(client.post(url, json=body, headers={"X-Forwarded-For": "203.0.113.1"}), 404)
        assert_problem(client.post(url, json=body, headers={"X-Forwarded-For": "203.0.113.1"}), 429)
        assert_problem(client.post(url, json=body, headers={"X-Forwarded-For": "203.0.113.2"}), 404)


def test_forwarded_for_ignored_without_proxy_hops(app_config: dict[str, Any]) -> None:
    app = _make(app_config, RATELIMIT_LOOKUP="1 per minute", RATELIMIT_LOOKUP_CODE="100 per hour")
    with app.app_context():
        client = app.test_client()
        url, body = "/api/v1/submissions/PH-DDDD-DDDD7/lookup", {"contact": "0912345678"}
        assert_problem(client.post(url, json=body, headers={"X-Forwarded-For": "203.0.113.1"}), 404)
        # Spoofing the header does not buy a fresh budget.
        assert_problem(client.post(url, json=body, headers={"X-Forwarded-For": "203.0.113.2"}), 429)


def test_disabled_by_config(app: Any, client: Any) -> None:
    for _ in range(15):
        assert_problem(client.post("/api/v1/submissions/PH-EEEE-EEEEZ/lookup", json={"contact": "0912345678"}), 404)


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
        url_, body = "/api/v1/submissions/PH-FFFF-FFFFQ/lookup", {"contact": "0912345678"}
        with one.app_context():
            assert_problem(one.test_client().post(url_, json=body), 404)
        with two.app_context():
            assert_problem(two.test_client().post(url_, json=body), 404)
            r = two.test_client().post(url_, json=body)
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


# --------------------------------------------------------------------------- partners, shared IPs


def test_a_partner_server_submits_30_in_a_minute_from_one_ip(app_config: dict[str, Any]) -> None:
    """The browser limits are not a partner's: its site has a quota of its own (defaults here)."""
    app = _make(app_config)
    with app.app_context():
        site, secret = sites.create_site("Báo điện tử", ["https://bao.example"])
        client = app.test_client()
        answers = [client.post("/api/v1/submissions", json=body_for(site), headers=_auth(secret, f"cms-{i}"),
                               environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code for i in range(30)]
    assert answers == [201] * 30


def test_failed_submissions_do_not_count(app_config: dict[str, Any]) -> None:
    app = _make(app_config, RATELIMIT_SUBMIT="2 per minute")
    with app.app_context():
        site, _secret = sites.create_site("Báo A", ["https://a.example"])
        client = app.test_client()
        bad = {**body_for(site), "title": ""}
        for _ in range(5):
            assert_problem(form_post(app, client, site, bad), 422)
        for i in range(2):
            assert form_post(app, client, site, body_for(site), phone=f"09123456{i}0").status_code == 201
        assert_problem(form_post(app, client, site, body_for(site), phone="0912345699"), 429)


def test_submissions_limited_per_contact_whatever_the_address(app_config: dict[str, Any]) -> None:
    app = _make(app_config, RATELIMIT_SUBMIT_CONTACT="2 per hour")
    with app.app_context():
        site, _secret = sites.create_site("Báo A", ["https://a.example"])
        client = app.test_client()
        for i, phone in enumerate(["0912345678", "+84 912 345 678"]):  # one number, written two ways
            assert form_post(app, client, site, body_for(site), ip=f"10.5.0.{i}", phone=phone).status_code == 201
        assert_problem(form_post(app, client, site, body_for(site), ip="10.5.0.9", phone="0912345678"), 429)
        assert form_post(app, client, site, body_for(site), ip="10.5.0.9", phone="0987654321").status_code == 201


def test_many_citizens_behind_one_address_prove_work_instead_of_being_refused(app_config: dict[str, Any]) -> None:
    """Carrier NAT: dozens of people share one public IP. Past the busy threshold they are asked for
    ALTCHA proof of work (the form page starts it), never turned away."""
    from tests.server.test_altcha import solve

    app = _make(app_config, RATELIMIT_SUBMIT_BUSY="3 per minute")
    nat = "100.64.0.1"
    with app.app_context():
        site, _secret = sites.create_site("Báo A", ["https://a.example"])
        client = app.test_client()
        for i in range(3):
            r = form_post(app, client, site, body_for(site), ip=nat, phone=f"09120000{i:02d}")
            assert r.status_code == 201, r.get_json()
        # The next citizen's form asks for proof of work from the start.
        page = client.get(f"/s/{site.key}", environ_base={"REMOTE_ADDR": nat}).get_data(as_text=True)
        assert "data-altcha-now" in page
        assert "data-altcha-now" not in client.get(f"/s/{site.key}", environ_base={
            "REMOTE_ADDR": "198.51.100.7"}).get_data(as_text=True)
        # Without it the API answers the problem the form's script solves and retries on.
        r = form_post(app, client, site, body_for(site), ip=nat, phone="0912000099")
        assert_problem(r, 403, "altcha-required")
        for i in range(20):
            challenge = client.get(f"/api/v1/sites/{site.key}/altcha").get_json()
            body = {**body_for(site), "altcha": solve(challenge)}
            r = form_post(app, client, site, body, ip=nat, phone=f"09130000{i:02d}")
            assert r.status_code == 201, r.get_json()


def test_limits_switched_off_ask_the_limiter_nothing(app: Any, monkeypatch: Any) -> None:
    """RATELIMIT_ENABLED off (a proxy in front limits): no request passes through Flask-Limiter;
    the submission endpoint is still known as one (its accepted posts count once limits are on)."""
    from widget_server.web import limits

    asked = _limiter_checks(app, monkeypatch, lambda: request.path)
    client = app.test_client()
    for _ in range(3):
        r = client.post("/api/v1/submissions/PH-DDDD-DDDD7/lookup", json={"contact": "0912345678"})
        assert r.status_code == 404
    assert client.post("/api/v1/submissions", json={}).status_code == 401
    assert asked == []
    assert "api.create_submission" in limits.SUBMIT_ENDPOINTS


def _submitted(app: Any, phone: str) -> str:
    from widget_server.intake import submissions

    site, _token = sites.create_site(f"Báo {uuid.uuid4().hex[:6]}", ["https://bao.example"])
    body = body_for(site)
    body["submitter"]["phone"] = phone
    return str(submissions.create_submission(site, body, via="api")["tracking_code"])


def test_lookups_that_find_their_submission_spend_nothing(app_config: dict[str, Any]) -> None:
    """Many people behind one carrier-NAT address look up their own submissions: none of those
    counts; the address's wrong guesses still do."""
    app = _make(app_config, RATELIMIT_LOOKUP="3 per minute")
    with app.app_context():
        client = app.test_client()
        nat = {"REMOTE_ADDR": "100.64.0.7"}
        codes = [_submitted(app, f"09130000{i:02d}") for i in range(8)]
        for i, code in enumerate(codes):
            r = client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": f"09130000{i:02d}"},
                            environ_base=nat)
            assert r.status_code == 200, r.get_data(as_text=True)
        for _ in range(3):
            assert_problem(client.post(f"/api/v1/submissions/{codes[0]}/lookup", json={"contact": "0988888888"},
                                       environ_base=nat), 404)
        assert_problem(client.post(f"/api/v1/submissions/{codes[1]}/lookup", json={"contact": "0913000001"},
                                   environ_base=nat), 429, "rate-limited")


def test_others_wrong_guesses_do_not_lock_the_owner_of_a_code_out(app_config: dict[str, Any]) -> None:
    """A tracking code is on a QR code, in a link: twenty wrong contacts from twenty addresses
    leave its owner able to look it up and to ask for deletion; one address guessing is stopped."""
    app = _make(app_config)  # the default limits
    with app.app_context():
        client = app.test_client()
        code = _submitted(app, "0912345678")
        url = f"/api/v1/submissions/{code}"
        for i in range(20):
            assert_problem(client.post(url + "/lookup", json={"contact": f"09876543{i:02d}"},
                                       environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"}), 404)
        owner = {"REMOTE_ADDR": "203.0.113.77"}
        found = client.post(url + "/lookup", json={"contact": "0912345678"}, environ_base=owner)
        assert found.status_code == 200, found.get_data(as_text=True)
        asked = client.post(url + "/data-request", json={"contact": "0912345678", "kind": "delete"},
                            environ_base=owner)
        assert asked.status_code == 202, asked.get_data(as_text=True)
        guesser = {"REMOTE_ADDR": "192.0.2.9"}
        answers = [client.post(url + "/lookup", json={"contact": f"09555555{i:02d}"}, environ_base=guesser).status_code
                   for i in range(8)]
        assert answers[:5] == [404] * 5 and set(answers[5:]) == {429}


def test_the_owner_rating_too_early_or_twice_is_not_a_guess(app_config: dict[str, Any]) -> None:
    """A rating before the answer, or a second one, is refused (409) only once the code and its
    contact matched: those were counted as wrong guesses, and five of them locked the owner out
    of their own lookup for an hour."""
    app = _make(app_config)  # the default limits: 5 failures an hour per address and code
    with app.app_context():
        client = app.test_client()
        code = _submitted(app, "0912345678")
        owner = {"REMOTE_ADDR": "203.0.113.78"}
        for _ in range(6):
            r = client.post(f"/api/v1/submissions/{code}/rating", json={"contact": "0912345678", "satisfied": True},
                            environ_base=owner)
            assert_problem(r, 409, "rating-not-allowed")
        found = client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": "0912345678"}, environ_base=owner)
        assert found.status_code == 200, found.get_data(as_text=True)
