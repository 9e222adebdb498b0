"""POST /api/v1/submissions and GET /api/v1/sites/{key}/config."""

from __future__ import annotations

import copy
import datetime as dt
import re
import unicodedata
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from phanhoi.embed import track_url
from tests.helpers import assert_problem
from widget_server.store import db
from widget_server.intake import tokens


def count(table: sa.Table) -> int:
    with db.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def post(client, secret, body, key="key-1", **headers):
    h = {"Authorization": f"Bearer {secret}", "Idempotency-Key": key, **headers}
    return client.post("/api/v1/submissions", json=body, headers=h)


def test_the_status_url_leads_a_person_to_the_status(app, client, site, submission_body):
    """The 201's ``status_url`` (and ``Location``), which partners print as the link to follow the
    submission, opens the site's status page with the code filled in; with the phone given there
    it shows the status. It named ``GET /api/v1/submissions/{code}``, which answers 410 (a status
    is looked up by ``POST``: the contact never travels in a URL)."""
    registered, secret = site
    r = post(client, secret, submission_body)
    body = r.get_json()
    assert r.headers["Location"] == body["status_url"]
    link = urlsplit(body["status_url"])
    assert link.path == f"/w/{registered.key}/track" and "contact" not in link.query
    # The link the SDK makes for the same page (phanhoi.embed.track_url).
    assert body["status_url"] == track_url(app.config["PUBLIC_URL"], registered.key, body["tracking_code"])
    page = client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    # The code's field filled in; the contact's asked for.
    assert re.search(rf'name="code"[^>]*value="{re.escape(body["tracking_code"])}"', page.get_data(as_text=True))
    assert re.search(r'name="contact"[^>]*value=""', page.get_data(as_text=True))
    shown = client.post(link.path, data={"code": body["tracking_code"], "contact": "0912 345 678"})
    assert shown.status_code == 200
    assert "Đã nhận phản ánh" in shown.get_data(as_text=True)
    # A replay of the same request gets the same link.
    again = post(client, secret, submission_body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["status_url"] == body["status_url"] == again.headers["Location"]


def test_created_only_with_its_outbox_row(client, site, submission_body):
    _, secret = site
    r = post(client, secret, submission_body)
    assert r.status_code == 201
    body = r.get_json()
    assert set(body) == {"id", "tracking_code", "status", "status_url", "deadline"}
    assert body["status"] == "received"
    assert body["status_url"].endswith(f"/track?code={body['tracking_code']}")
    assert r.headers["Location"] == body["status_url"]
    with db.read() as conn:
        row = conn.execute(sa.select(db.submissions)).one()
        ob = conn.execute(sa.select(db.outbox)).one()
    assert row.id == body["id"] and row.status == "received"
    assert row.phone == "+84912345678"  # E.164
    assert row.confidential is True
    assert row.consent_version == submission_body["consent"]["version"]
    assert len(row.consent_hash) == 64
    # When the answer is due, as stored: the success screen shows it (issue 10, item 10).
    assert dt.datetime.fromisoformat(body["deadline"]) == row.deadline
    assert (row.deadline - row.submitted_at) == dt.timedelta(days=17)
    assert ob.submission_id == row.id and ob.state == "pending"
    assert ob.event_type == "submission.created"
    data = ob.payload["data"]
    assert data["tracking_code"] == body["tracking_code"]
    assert data["submitter"]["phone"] == "+84912345678"
    assert data["consent"]["version"] == row.consent_version
    assert data["consent"]["text_sha256"] == row.consent_hash
    assert data["site"]["name"] == "Báo Thanh Hóa"


def test_text_is_normalised_before_storage(client, site, submission_body):
    _, secret = site
    submission_body["title"] = "Ra\u0301c tha\u0309i \u200bở chợ\u202e"
    r = post(client, secret, submission_body)
    assert r.status_code == 201
    with db.read() as conn:
        title = conn.execute(sa.select(db.submissions.c.title)).scalar_one()
    assert title == "Rác thải ở chợ"
    assert unicodedata.is_normalized("NFC", title)


def _set(body, path, value):
    target = body
    *parents, last = path.split(".")
    for p in parents:
        target = target[p]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value


_DELETE = object()

INVALID = [
    ("category", "khong-co", "category"),
    ("category", _DELETE, "category"),
    ("agency", "khong-co", "agency"),
    ("title", "abc", "title"),
    ("title", "x" * 201, "title"),
    ("title", "\u200b\u200b\u200b\u200b\u200b\u200b", "title"),  # only invisible characters
    ("content", "ngắn", "content"),
    ("content", "x" * 5001, "content"),
    ("content", 12345, "content"),
    ("submitter", _DELETE, "submitter"),
    ("submitter.name", "", "submitter.name"),
    ("submitter.phone", "12345", "submitter.phone"),
    ("submitter.phone", "0112345678", "submitter.phone"),
    ("submitter.email", "not-an-email", "submitter.email"),
    ("consent.accepted", False, "consent.accepted"),
    ("consent.version", "2019.old", "consent.version"),
    ("consent", _DELETE, "consent"),
    ("location.commune_code", "99999", "location.commune_code"),
    ("location.lat", 123.0, "location.lat"),
    ("location.lon", None, "location.lat"),
    ("source_url", "javascript:alert(1)", "source_url"),
    ("confidential", "maybe", "confidential"),
    ("extra", "field", "extra"),
]


@pytest.mark.parametrize(("path", "value", "field"), INVALID)
def test_invalid_input_is_refused_with_field_errors_and_changes_nothing(
    client, site, submission_body, path, value, field
):
    _, secret = site
    body = copy.deepcopy(submission_body)
    _set(body, path, value)
    r = post(client, secret, body)
    problem = assert_problem(r, 422, "validation-error")
    assert field in problem["errors"], problem["errors"]
    assert all(msg and msg[0].isupper() for msg in problem["errors"][field])
    assert count(db.submissions) == 0 and count(db.outbox) == 0


def test_phone_or_email_is_required(client, site, submission_body):
    _, secret = site
    submission_body["submitter"] = {"name": "Lê Văn A", "phone": None, "email": None}
    problem = assert_problem(post(client, secret, submission_body), 422)
    assert "submitter.phone" in problem["errors"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("0912 345 678", "+84912345678"), ("+84 912-345-678", "+84912345678"),
     ("(0237) 3852 123", "+842373852123"), ("0383.456.789", "+84383456789")],
)
def test_phone_numbers_are_stored_as_e164(client, site, submission_body, typed, stored):
    _, secret = site
    submission_body["submitter"]["phone"] = typed
    assert post(client, secret, submission_body).status_code == 201
    with db.read() as conn:
        assert conn.execute(sa.select(db.submissions.c.phone)).scalar_one() == stored


def test_email_only_submission_and_unknown_agency(client, site, submission_body):
    _, secret = site
    submission_body["submitter"] = {"name": "Trần Thị B", "phone": None, "email": "B@Example.VN"}
    submission_body["agency"] = ""
    r = post(client, secret, submission_body)
    assert r.status_code == 201
    with db.read() as conn:
        row = conn.execute(sa.select(db.submissions)).one()
    assert row.agency is None and row.email == "B@example.vn"


def test_idempotent_replay_returns_the_same_answer(client, site, submission_body):
    _, secret = site
    first = post(client, secret, submission_body, key="abc")
    again = post(client, secret, submission_body, key="abc")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count(db.submissions) == 1 and count(db.outbox) == 1


def test_same_key_other_body_is_422(client, site, submission_body):
    _, secret = site
    assert post(client, secret, submission_body, key="abc").status_code == 201
    other = copy.deepcopy(submission_body)
    other["title"] = "Một tiêu đề khác hẳn"
    assert_problem(post(client, secret, other, key="abc"), 422, "idempotency-key-reused")
    assert count(db.submissions) == 1


def test_keys_are_per_site(client, site, submission_body):
    from widget_server.intake import reference, sites

    _, secret = site
    other, other_secret = sites.create_site("Đài PT-TH Thanh Hóa", ["https://tv.example"])
    assert post(client, secret, submission_body, key="same").status_code == 201
    body = copy.deepcopy(submission_body)
    body["consent"]["version"] = reference.consent_for(other.name).version
    r = post(client, other_secret, body, key="same")
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    assert count(db.submissions) == 2


def test_missing_idempotency_key_is_400(client, site, submission_body):
    _, secret = site
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": f"Bearer {secret}"})
    assert_problem(r, 400, "idempotency-key-missing")


@pytest.mark.parametrize("auth", ["Bearer sk_wrong", "Bearer ", "Basic abc", "Bearer pk_x"])
def test_wrong_credentials_are_401(client, site, submission_body, auth):
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": auth, "Idempotency-Key": "k"})
    assert_problem(r, 401)
    assert count(db.submissions) == 0


def test_secret_key_from_an_unregistered_origin_is_refused(client, site, submission_body):
    _, secret = site
    r = post(client, secret, submission_body, Origin="https://evil.example")
    assert_problem(r, 403, "origin-not-allowed")


def test_form_token_path(client, site, submission_body):
    s, _ = site
    token = tokens.issue_form_token(s.key)
    headers = {"X-Form-Token": token, "Origin": "http://relay.test"}
    r = client.post("/api/v1/submissions", json={**submission_body, "hp": ""}, headers=headers)
    assert r.status_code == 201, r.get_json()
    with db.read() as conn:
        assert conn.execute(sa.select(db.submissions.c.via)).scalar_one() == "form"
    # A double click (the same token) answers the same and stores nothing new.
    again = client.post("/api/v1/submissions", json={**submission_body, "hp": ""}, headers=headers)
    assert again.get_json() == r.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert count(db.submissions) == 1


def test_form_token_from_a_foreign_origin_is_refused(client, site, submission_body):
    s, _ = site
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"X-Form-Token": tokens.issue_form_token(s.key),
                             "Origin": "https://evil.example"})
    assert_problem(r, 403, "origin-not-allowed")


def test_forged_form_token_is_refused(client, site, submission_body):
    s, _ = site
    token = tokens.issue_form_token(s.key)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    r = client.post("/api/v1/submissions", json=submission_body, headers={"X-Form-Token": forged})
    assert_problem(r, 403, "form-token-invalid")


def test_form_filled_too_fast_is_refused(app, client, site, submission_body):
    s, _ = site
    app.config["MIN_FILL_SECONDS"] = 30
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"X-Form-Token": tokens.issue_form_token(s.key)})
    problem = assert_problem(r, 422, "too-fast")
    assert "quá nhanh" in problem["detail"]


def test_honeypot_filled_is_refused(client, site, submission_body):
    s, _ = site
    r = client.post("/api/v1/submissions", json={**submission_body, "hp": "http://spam"},
                    headers={"X-Form-Token": tokens.issue_form_token(s.key)})
    assert_problem(r, 422)
    assert count(db.submissions) == 0


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"\xff\xfe\x00", "application/json", 400),
        (b'{"a": NaN}', "application/json", 400),
        (b"[1, 2, 3]", "application/json", 422),
        (b"null", "application/json", 422),
        (b"title=x", "application/x-www-form-urlencoded", 415),
        (b"{}", "text/plain", 415),
        (b'{"x": "' + b"a" * 300_000 + b'"}', "application/json", 413),
    ],
)
def test_malformed_bodies(client, site, data, content_type, status):
    _, secret = site
    r = client.post("/api/v1/submissions", data=data, content_type=content_type,
                    headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "k"})
    assert_problem(r, status)
    assert count(db.submissions) == 0


def test_site_config(client, site):
    s, _ = site
    r = client.get(f"/api/v1/sites/{s.key}/config")
    assert r.status_code == 200
    cfg = r.get_json()
    assert cfg["name"] == "Báo Thanh Hóa"
    assert cfg["province"] == {"code": 38, "name": "Thanh Hóa"}
    assert len(cfg["communes"]) == 166  # 147 xã + 19 phường since 1 July 2025
    assert {"code": "moi-truong", "name": "Môi trường"} in cfg["categories"]
    assert cfg["unknown_agency"]["name"] == "Chưa rõ cơ quan"
    assert cfg["consent"]["version"] and "Hệ thống Phản hồi Thanh Hóa" in cfg["consent"]["text"]
    assert all(unicodedata.is_normalized("NFC", c["name"]) for c in cfg["communes"])


def test_site_config_subset_of_categories(client):
    from widget_server.intake import sites

    s, _ = sites.create_site("Báo Công an", ["https://ca.example"],
                             categories=["an-ninh-trat-tu", "giao-thong"], agencies=["cong-an-tinh"])
    cfg = client.get(f"/api/v1/sites/{s.key}/config").get_json()
    assert [c["code"] for c in cfg["categories"]] == ["giao-thong", "an-ninh-trat-tu"]
    assert [a["code"] for a in cfg["agencies"]] == ["cong-an-tinh"]


def test_category_outside_the_sites_subset_is_refused(client, submission_body):
    from widget_server.intake import reference, sites

    s, secret = sites.create_site("Báo Công an", ["https://ca.example"], categories=["giao-thong"])
    submission_body["consent"]["version"] = reference.consent_for(s.name).version
    problem = assert_problem(post(client, secret, submission_body), 422)
    assert "category" in problem["errors"]


def test_unknown_site_config_is_404(client):
    assert_problem(client.get("/api/v1/sites/pk_nope/config"), 404, "site-not-found")


def test_unknown_route_and_method_are_problems(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    r = client.delete("/api/v1/submissions")
    assert_problem(r, 405)
    assert "POST" in r.headers["Allow"]
