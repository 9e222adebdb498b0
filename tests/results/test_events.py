"""result.published / result.withdrawn: signed, applied once, newest wins, public fields only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import assert_problem
from tests.results.conftest import result
from widget_server.store import db
from widget_server.store.published import results


def _rows() -> list[Any]:
    with db.read() as conn:
        return conn.execute(sa.select(results)).all()


def test_published_result_is_listed(app: Any, client: Any, publish: Any) -> None:
    publish("KQ-1")
    body = client.get("/api/v1/results").get_json()
    assert [r["id"] for r in body["items"]] == ["KQ-1"]
    item = body["items"][0]
    assert item["agency"] == {"code": "so-xd", "name": "Sở Xây dựng"}
    assert item["on_time"] is True and item["days_to_answer"] == 9.0


def test_duplicate_webhook_id_is_applied_once(app: Any, send_event: Any) -> None:
    first = send_event("result.published", result("KQ-1"), msg_id="msg_same")
    again = send_event("result.published", result("KQ-1", title="Khác"), msg_id="msg_same")
    assert first.get_json()["applied"] is True
    assert again.get_json() == {"received": True, "duplicate": True, "applied": False}
    assert [r.title for r in _rows()] == ["Đèn đường hỏng trên đại lộ Lê Lợi"]


def test_newest_event_wins_whatever_the_order(app: Any, client: Any, send_event: Any) -> None:
    t0 = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    send_event("result.published", result("KQ-1", title="Bản sửa"), timestamp=t0 + dt.timedelta(hours=1))
    late = send_event("result.published", result("KQ-1", title="Bản cũ"), timestamp=t0)
    assert late.get_json()["applied"] is False
    assert client.get("/api/v1/results/KQ-1").get_json()["title"] == "Bản sửa"
    # An older publication arriving after a withdrawal does not bring the result back.
    send_event("result.withdrawn", {"result_id": "KQ-1"}, timestamp=t0 + dt.timedelta(hours=2))
    send_event("result.published", result("KQ-1"), timestamp=t0 + dt.timedelta(minutes=90))
    assert client.get("/api/v1/results/KQ-1").status_code == 404


def test_withdrawn_result_vanishes_from_every_output(app: Any, client: Any, site: Any, publish: Any,
                                                     send_event: Any) -> None:
    publish("KQ-1", title="Cống thoát nước tắc ở phố Hàm Rồng")
    key = site[0].key
    urls = ["/api/v1/results", "/api/v1/results/KQ-1", f"/p/{key}", f"/p/{key}/KQ-1", f"/p/{key}/feed.atom",
            "/open311/v2/requests.json", "/open311/v2/requests/KQ-1.json", "/open311/v2/requests.xml",
            f"/w/{key}/results", "/api/v1/scoreboard"]
    before = {u: client.get(u) for u in urls}
    for url, r in before.items():
        assert r.status_code == 200, url
        assert url.endswith("scoreboard") or "Hàm Rồng" in r.get_data(as_text=True), url
    etag = before["/api/v1/results"].headers["ETag"]
    send_event("result.withdrawn", {"result_id": "KQ-1"})
    for url in urls:
        r = client.get(url)
        assert "Hàm Rồng" not in r.get_data(as_text=True), url
    # A CDN or browser holding the old copy is told it changed.
    r = client.get("/api/v1/results", headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.get_json()["items"] == []
    assert client.get("/api/v1/scoreboard").get_json()["total"]["answered"] == 0


def test_relay_submission_published_joins_without_personal_data(app: Any, client: Any,
                                                                submit_and_publish: Any,
                                                                submission_body: dict[str, Any]) -> None:
    sid = submit_and_publish(answer="Đã thu gom rác ở cổng chợ.")
    items = client.get("/api/v1/results").get_json()["items"]
    assert len(items) == 1
    item = items[0]
    assert item["title"] == submission_body["title"]
    assert item["answer"] == "Đã thu gom rác ở cổng chợ."
    assert item["question"] is None  # the citizen's content is never published by the relay
    assert item["agency"]["code"] == "so-xd"  # the agency's name mapped to its code
    text = client.get("/api/v1/results").get_data(as_text=True)
    for secret in ("Lê Văn A", "0912345678", "912345678", "Cổng chợ Vườn Hoa", sid,
                   submission_body["content"][:30]):
        assert secret not in text


def test_central_publication_of_a_relay_submission_is_one_entry(app: Any, client: Any,
                                                                 submit_and_publish: Any, publish: Any) -> None:
    submit_and_publish(central_id="TH-77")
    publish("TH-77", central_id="TH-77", title="Tiêu đề đã biên tập")
    items = client.get("/api/v1/results").get_json()["items"]
    assert [(i["id"], i["title"]) for i in items] == [("TH-77", "Tiêu đề đã biên tập")]
    assert items[0]["site"]["name"] == "Báo Thanh Hóa"


def test_title_scrubbed_of_the_submitters_details(app: Any, client: Any, submit_and_publish: Any,
                                                  submission_body: dict[str, Any]) -> None:
    body = {**submission_body, "title": "Lê Văn A báo rác, gọi 0912 345 678 hoặc a@x.vn"}
    submit_and_publish(body, answer="Trả lời ông Lê Văn A: đã xử lý.")
    item = client.get("/api/v1/results").get_json()["items"][0]
    for secret in ("Lê Văn A", "0912 345 678", "a@x.vn"):
        assert secret not in item["title"] + item["answer"]
    assert "[đã ẩn]" in item["title"]


@pytest.mark.parametrize("body, status", [
    (b"not json", 400),
    (b'{"type": "result.published", "data": {}}', 422),
    (b'{"type": "result.published", "data": {"result_id": "../etc", "title": "x", "answer": "y"}}', 422),
    (b'{"type": "result.published", "data": {"result_id": "K", "title": "\\u200b", "answer": "y"}}', 422),
    (b'{"type": "result.withdrawn", "data": {"result_id": ""}}', 422),
    (b'{"type": "result.exploded", "data": {}}', 422),
    (b'[1, 2]', 422),
])
def test_malformed_events_store_nothing(app: Any, client: Any, body: bytes, status: int) -> None:
    from phanhoi.webhooks import sign_headers

    headers = sign_headers(body, app.config["CENTRAL_EVENTS_SECRET"], msg_id="msg_bad")
    r = client.post("/api/v1/central/events", data=body, headers={**headers, "Content-Type": "application/json"})
    assert_problem(r, status)
    assert _rows() == []


@pytest.mark.parametrize("field, value", [
    ("received_at", "0001-01-01T00:00:00+07:00"),  # before year 1 in UTC
    ("answered_at", "9999-12-31T23:59:59-12:00"),  # after year 9999 in UTC
    ("deadline", "9999-12-31T23:59:59+00:00"),  # no window could end a day after it
])
def test_dates_outside_the_calendar_store_nothing(app: Any, send_event: Any, field: str, value: str) -> None:
    problem = assert_problem(send_event("result.published", result(**{field: value})), 422)
    assert "data." + field in problem["errors"]
    stamp = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    problem = assert_problem(send_event("result.published", result(), timestamp=stamp), 422)
    assert "timestamp" in problem["errors"]
    assert _rows() == []


def test_unsigned_or_wrongly_signed_events_store_nothing(app: Any, client: Any, send_event: Any,
                                                         whsec: Any) -> None:
    r = client.post("/api/v1/central/events", json={"type": "result.published", "data": result()})
    assert_problem(r, 401)
    assert_problem(send_event("result.published", result(), secret=whsec()), 401)
    assert _rows() == []
