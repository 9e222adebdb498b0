"""ALTCHA proof of work: off by default, per site; valid, unexpired, unused solutions only."""

from __future__ import annotations

import base64
import json
from typing import Any

import altcha
import pytest
import sqlalchemy as sa

from tests.helpers import assert_problem
from widget_server.intake import altcha as altcha_pow, sites, tokens
from widget_server.store import db


def solve(challenge: dict[str, Any]) -> str:
    solution = altcha.solve_challenge_v1(challenge["challenge"], challenge["salt"], "SHA-256",
                                         challenge["maxNumber"])
    assert solution is not None
    payload = {"algorithm": "SHA-256", "challenge": challenge["challenge"], "number": solution.number,
               "salt": challenge["salt"], "signature": challenge["signature"]}
    return base64.b64encode(json.dumps(payload).encode()).decode()


@pytest.fixture
def pow_site(app: Any, site: Any) -> Any:
    app.config["ALTCHA_MAX_NUMBER"] = 2000
    return sites.update_site(site[0].key, altcha=True)


def form_post(app: Any, client: Any, site_key: str, body: dict[str, Any], token: str | None = None) -> Any:
    if token is None:
        with app.test_request_context():
            token = tokens.issue_form_token(site_key)
    return client.post("/api/v1/submissions", json=body,
                       headers={"X-Form-Token": token, "Origin": "http://relay.test"})


def count() -> int:
    with db.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(db.submissions)).scalar_one()


def test_off_by_default(app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    assert site[0].altcha is False
    assert form_post(app, client, site[0].key, submission_body).status_code == 201


def test_challenge_endpoint(client: Any, pow_site: Any) -> None:
    r = client.get(f"/api/v1/sites/{pow_site.key}/altcha")
    assert r.status_code == 200
    body = r.get_json()
    assert body["algorithm"] == "SHA-256" and body["maxNumber"] == 2000
    assert f"site={pow_site.key}" in body["salt"] and "expires=" in body["salt"]
    assert r.headers["Cache-Control"] == "no-store"
    assert_problem(client.get("/api/v1/sites/pk_nope/altcha"), 404, "site-not-found")


def test_required_when_on(app: Any, client: Any, pow_site: Any, submission_body: dict[str, Any]) -> None:
    assert_problem(form_post(app, client, pow_site.key, submission_body), 403, "altcha-required")
    challenge = client.get(f"/api/v1/sites/{pow_site.key}/altcha").get_json()
    body = {**submission_body, "altcha": solve(challenge)}
    r = form_post(app, client, pow_site.key, body)
    assert r.status_code == 201, r.get_json()
    # The same solution with a new form token: replayed.
    assert_problem(form_post(app, client, pow_site.key, body), 403, "altcha-replayed")
    assert count() == 1


def test_retry_of_same_post_is_idempotent(app: Any, client: Any, pow_site: Any,
                                          submission_body: dict[str, Any]) -> None:
    challenge = client.get(f"/api/v1/sites/{pow_site.key}/altcha").get_json()
    body = {**submission_body, "altcha": solve(challenge)}
    with app.test_request_context():
        token = tokens.issue_form_token(pow_site.key)
    r1 = form_post(app, client, pow_site.key, body, token)
    r2 = form_post(app, client, pow_site.key, body, token)
    assert r1.status_code == r2.status_code == 201
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert count() == 1


def _tampered(challenge: dict[str, Any], **changes: Any) -> str:
    payload = json.loads(base64.b64decode(solve(challenge)))
    payload.update(changes)
    return base64.b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize("mutate", [
    lambda c: _tampered(c, number=-1),
    lambda c: _tampered(c, signature="0" * 64),
    lambda c: _tampered(c, algorithm="SHA-1"),
    lambda c: _tampered(c, salt=c["salt"].replace("site=", "site=x")),
    lambda c: "not base64!!",
    lambda c: base64.b64encode(b"[1,2]").decode(),
    lambda c: base64.b64encode(b"\xff\xfe").decode(),
    lambda c: 12345,
])
def test_invalid_solutions(app: Any, client: Any, pow_site: Any, submission_body: dict[str, Any],
                           mutate: Any) -> None:
    challenge = client.get(f"/api/v1/sites/{pow_site.key}/altcha").get_json()
    r = form_post(app, client, pow_site.key, {**submission_body, "altcha": mutate(challenge)})
    assert r.status_code in {403, 422}
    assert r.mimetype == "application/problem+json"
    assert count() == 0


def test_expired_solution(app: Any, client: Any, pow_site: Any, submission_body: dict[str, Any]) -> None:
    app.config["ALTCHA_EXPIRES_SECONDS"] = -10
    challenge = client.get(f"/api/v1/sites/{pow_site.key}/altcha").get_json()
    app.config["ALTCHA_EXPIRES_SECONDS"] = 1200
    r = form_post(app, client, pow_site.key, {**submission_body, "altcha": solve(challenge)})
    assert_problem(r, 403, "altcha-invalid")


def test_other_sites_challenge_refused(app: Any, client: Any, pow_site: Any,
                                       submission_body: dict[str, Any]) -> None:
    other, _secret = sites.create_site("Báo B", ["https://b.example"])
    challenge = client.get(f"/api/v1/sites/{other.key}/altcha").get_json()
    r = form_post(app, client, pow_site.key, {**submission_body, "altcha": solve(challenge)})
    assert_problem(r, 403, "altcha-invalid")


def test_key_derived_from_secret_key(app: Any) -> None:
    key = altcha_pow.hmac_key()
    assert key != app.config["SECRET_KEY"] and len(key) == 64


def test_server_partners_need_no_altcha(client: Any, site: Any, pow_site: Any,
                                        submission_body: dict[str, Any]) -> None:
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "s1"})
    assert r.status_code == 201


def test_cli_switch(runner: Any, site: Any) -> None:
    r = runner.invoke(args=["sites", "set", site[0].key, "--altcha", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["altcha"] is True
    assert sites.get_site(site[0].key).altcha is True
    r = runner.invoke(args=["sites", "set", site[0].key, "--no-altcha"])
    assert r.exit_code == 0 and "altcha: off" in r.output
    assert runner.invoke(args=["sites", "set", "pk_nope", "--altcha"]).exit_code != 0
    assert runner.invoke(args=["sites", "set", site[0].key]).exit_code != 0
