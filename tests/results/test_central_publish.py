"""The reference central system's “Công khai kết quả”: edited public text for a PAKN that came
through the relay, a PAKN that did not, and a withdrawal, all the way to the relay over HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from phanhoi.webhooks import generate_secret, sign_headers

import central_system
from central_system import publish


@pytest.fixture
def central(app: Any, live_relay: str, tmp_path: Any) -> Any:
    intake = generate_secret()
    capp = central_system.create_app({
        "DATABASE": str(tmp_path / "central.sqlite3"), "SECRET_KEY": "test-secret-key-for-the-central-app",
        "INTAKE_SECRET": intake, "EVENTS_SECRET": app.config["CENTRAL_EVENTS_SECRET"],
        "RELAY_URL": live_relay, "EVENT_RETRIES": 0, "TESTING": True})
    capp.config["TEST_INTAKE"] = intake
    return capp


def _token(client: Any, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_publish_a_pakn_that_never_came_through_the_relay_then_withdraw(app: Any, client: Any,
                                                                        central: Any) -> None:
    op = central.test_client()
    r = op.post("/results", data={"csrf_token": _token(op, "/results"), "public_title": "Ổ gà trên quốc lộ 47",
                                  "public_answer": "Đã vá xong ngày 12/11.", "category": "giao-thong",
                                  "agency": "so-xd", "received_on": "2026-11-01"})
    assert r.status_code == 303
    items = client.get("/api/v1/results").get_json()["items"]
    assert [i["title"] for i in items] == ["Ổ gà trên quốc lộ 47"]
    result_id = items[0]["id"]
    assert result_id.startswith("TH-KQ-") and items[0]["site"] is None
    op.post(f"/results/{result_id}/withdraw", data={"csrf_token": _token(op, "/results")})
    assert client.get("/api/v1/results").get_json()["items"] == []
    assert "Đã gỡ" in op.get("/results").get_data(as_text=True)


def test_publish_an_answered_relay_submission_with_edited_text(app: Any, client: Any, site: Any,
                                                               submission_body: dict[str, Any],
                                                               central: Any) -> None:
    r = client.post("/api/v1/submissions", json=submission_body,
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "k1"})
    relay_id = r.get_json()["id"]
    op = central.test_client()
    created = json.dumps({"type": "submission.created", "timestamp": "2026-11-05T08:00:00+00:00", "data": {
        "id": relay_id, "tracking_code": r.get_json()["tracking_code"], "category": "moi-truong",
        "agency": None, "title": submission_body["title"], "content": submission_body["content"],
        "location": {"address": "Cổng chợ"}, "submitter": {"name": "Lê Văn A", "phone": "+84912345678"},
        "confidential": True, "consent": {"version": "v1"}, "site": {"key": site[0].key, "name": site[0].name},
        "submitted_at": "2026-11-05T08:00:00+00:00", "deadline": "2026-11-22T08:00:00+00:00",
        "attachments": []}}, ensure_ascii=False).encode()
    headers = sign_headers(created, central.config["TEST_INTAKE"], msg_id="msg_in")
    answer = op.post("/intake/v1/submissions", data=created, headers={**headers, "Content-Type": "application/json"})
    central_id = answer.get_json()["central_id"]
    page = f"/submissions/{central_id}"
    for action, extra in (("accept", {}), ("answer", {"answer": "Ông Lê Văn A: đã thu gom.", "agency": "ubnd-xa"})):
        op.post(page + "/actions", data={"csrf_token": _token(op, page), "action": action, **extra})
    form = op.get(page).get_data(as_text=True)
    assert 'name="public_answer"' in form and "Công khai kết quả" in form
    op.post(page + "/actions", data={"csrf_token": _token(op, page), "action": "publish",
                                     "public_title": "Rác tồn đọng ở cổng chợ Vườn Hoa",
                                     "public_answer": "Đã thu gom rác và tăng tần suất thu gom."})
    items = client.get("/api/v1/results").get_json()["items"]
    assert [(i["id"], i["title"], i["answer"]) for i in items] == [
        (central_id, "Rác tồn đọng ở cổng chợ Vườn Hoa", "Đã thu gom rác và tăng tần suất thu gom.")]
    assert items[0]["site"]["key"] == site[0].key and items[0]["agency"]["code"] == "ubnd-xa"
    status = client.post(f"/api/v1/submissions/{r.get_json()['tracking_code']}/lookup",
                         json={"contact": "0912345678"})
    if status.status_code == 200:
        assert status.get_json()["status"] == "published"


def test_demo_results_are_published_once(app: Any, client: Any, central: Any) -> None:
    assert publish.seed_demo(central) == len(publish.DEMO_RESULTS)
    assert publish.seed_demo(central) == 0  # a restart sends only what is unsent
    body = client.get("/api/v1/results").get_json()
    assert body["total"] == len(publish.DEMO_RESULTS)
    board = client.get("/api/v1/scoreboard").get_json()
    assert board["total"]["answered"] == len(publish.DEMO_RESULTS)
    assert board["total"]["on_time_rate"] == 0.75  # one of the four answered after its deadline
