"""NUL and other control characters: a 4xx, never a 500, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from phanhoi.webhooks import sign_headers

from tests.helpers import assert_problem


@pytest.mark.parametrize("path", [
    "/api/v1/sites/pk_%00x/config",
    "/api/v1/sites/pk_%00x/stats",
    "/api/v1/sites/pk_%00x/altcha",
    "/api/v1/submissions/PH%00AAAA",
    "/static/widget/%00loader.js",
    "/w/pk_%00x/form",
    "/w/pk_%00x/track",
    "/s/pk_%00x",
    "/w/pk_x%0a/form",
])
def test_control_characters_in_paths_name_nothing(client: Any, site: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404, r.get_data(as_text=True)[:300]
    if path.startswith("/api/"):
        assert_problem(r, 404)


def test_a_nul_in_a_query_is_refused(client: Any, site: Any) -> None:
    r = client.get(f"/api/v1/sites/{site[0].key}/stats?since=2025-01-01%00")
    assert 400 <= r.status_code < 500
    r = client.get(f"/w/{site[0].key}/form?u=https://baothanhhoa.example/%00")
    assert 400 <= r.status_code < 500


def _event(client: Any, app: Any, data: dict[str, Any], msg_id: str) -> Any:
    payload = json.dumps({"type": "submission.status_changed", "data": data}).encode()
    headers = sign_headers(payload, app.config["CENTRAL_EVENTS_SECRET"], msg_id=msg_id)
    return client.post("/api/v1/central/events", data=payload,
                       headers={**headers, "Content-Type": "application/json"})


def test_signed_events_with_nul_bytes(app: Any, client: Any, site: Any,
                                      submission_body: dict[str, Any]) -> None:
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "nul-1"})
    sid, code = r.get_json()["id"], r.get_json()["tracking_code"]
    # An identifier with a NUL is refused as invalid.
    r = _event(client, app, {"submission_id": sid[:-1] + "\x00", "status": "accepted", "sequence": 1}, "m1")
    assert_problem(r, 422)
    r = _event(client, app, {"submission_id": sid, "central_id": "C\x00", "status": "accepted",
                             "sequence": 1}, "m2")
    assert_problem(r, 422)
    # Texts are cleaned as the answer is: the event is applied without the NULs.
    r = _event(client, app, {"submission_id": sid, "status": "answered", "sequence": 2,
                             "note": "Đã\x00 chuyển", "agency": "UBND\x00 xã", "answer": "Trả\x00 lời"}, "m3")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["applied"] is True
    found = client.post(f"/api/v1/submissions/{code}/lookup", json={"contact": "0912345678"})
    body = found.get_json()
    assert body["history"][-1]["note"] == "Đã chuyển"
    assert body["answer"] == {**body["answer"], "text": "Trả lời", "agency": "UBND xã"}


@pytest.mark.parametrize("field", [{"central_id": "TH\x00-1"}, {"central_id": "TH-\n1"},
                                   {"url": "https://ubnd.example/kq\x00/1"}])
def test_a_published_result_with_a_control_character_in_an_identifier_is_refused(
        app: Any, client: Any, field: dict[str, str]) -> None:
    """As in a status event: 422, said to the central system, not a 500 on PostgreSQL (which it
    retries in vain) nor, on SQLite, a central id that names no submission."""
    payload = json.dumps({"type": "result.published", "timestamp": "2026-12-01T08:00:00+07:00",
                          "data": {"result_id": "TH-KQ-1", "title": "Rác ở chợ", "answer": "Đã thu gom.",
                                   **field}}).encode()
    headers = sign_headers(payload, app.config["CENTRAL_EVENTS_SECRET"], msg_id="r1")
    r = client.post("/api/v1/central/events", data=payload, headers={**headers, "Content-Type": "application/json"})
    assert_problem(r, 422)
    assert list(r.get_json()["errors"]) == [f"data.{next(iter(field))}"]


def test_a_nul_in_a_webhook_id_or_idempotency_key_is_refused(app: Any, client: Any, site: Any,
                                                            submission_body: dict[str, Any]) -> None:
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "k\x00"})
    assert_problem(r, 400)
    r = _event(client, app, {"submission_id": "x", "status": "accepted", "sequence": 1}, "m\x00")
    assert_problem(r, 400)


def test_app_log_records_escape_control_characters_in_paths(app: Any, caplog: Any) -> None:
    import logging

    from flask import request

    with caplog.at_level(logging.WARNING, logger="widget_server"):
        with app.test_request_context("/a%0a127.0.0.1%20GET%20/forged"):
            app.logger.warning("refused %s", request.path)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["refused /a\\x0a127.0.0.1 GET /forged"]
