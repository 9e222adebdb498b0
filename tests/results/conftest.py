"""Helpers for the results layer's tests: signed events from a central system, published results."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from phanhoi.webhooks import sign_headers
from werkzeug.serving import make_server

Send = Callable[..., Any]


@pytest.fixture
def send_event(app: Any, client: Any) -> Send:
    """POST a signed event; ``timestamp`` orders events about one result (newest wins)."""

    def send(event_type: str, data: dict[str, Any], *, msg_id: str | None = None,
             timestamp: dt.datetime | None = None, secret: str | None = None) -> Any:
        body = json.dumps({"type": event_type,
                           "timestamp": (timestamp or dt.datetime.now(dt.UTC)).isoformat(),
                           "data": data}, ensure_ascii=False).encode()
        headers = sign_headers(body, secret or app.config["CENTRAL_EVENTS_SECRET"],
                               msg_id=msg_id or "msg_" + secrets.token_hex(8))
        return client.post("/api/v1/central/events", data=body,
                           headers={**headers, "Content-Type": "application/json"})

    return send


def result(result_id: str = "KQ-1", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "result_id": result_id,
        "central_id": None,
        "title": "Đèn đường hỏng trên đại lộ Lê Lợi",
        "question": "Đèn đường trên đại lộ Lê Lợi tắt nhiều đêm liền.",
        "answer": "Công ty chiếu sáng đã thay bóng đèn ngày 10/11.",
        "category": "chieu-sang-cay-xanh",
        "agency": "so-xd",
        "commune_code": None,
        "received_at": "2026-11-01T08:00:00+07:00",
        "answered_at": "2026-11-10T09:00:00+07:00",
        "deadline": "2026-11-18T23:59:59+07:00",
        "url": "https://phanhoi.thanhhoa.example/kq/KQ-1",
    }
    data.update(overrides)
    return data


@pytest.fixture
def publish(send_event: Send) -> Callable[..., dict[str, Any]]:
    def go(result_id: str = "KQ-1", **overrides: Any) -> dict[str, Any]:
        data = result(result_id, **overrides)
        r = send_event("result.published", data)
        assert r.status_code == 200, r.get_data(as_text=True)
        return data

    return go


@pytest.fixture
def submit_and_publish(client: Any, site: Any, submission_body: dict[str, Any], send_event: Send) -> Callable[..., str]:
    """A submission through the relay, answered and published by the central system's status events."""

    def go(body: dict[str, Any] | None = None, *, answer: str = "Đã xử lý xong.",
           agency: str = "Sở Xây dựng", central_id: str | None = None) -> str:
        payload = body or submission_body
        r = client.post("/api/v1/submissions", json=payload,
                        headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": secrets.token_hex(8)})
        assert r.status_code == 201, r.get_data(as_text=True)
        sid = r.get_json()["id"]
        for seq, status in enumerate(("accepted", "answered", "published"), start=1):
            r = send_event("submission.status_changed", {
                "submission_id": sid, "central_id": central_id, "status": status, "sequence": seq,
                "answer": answer if status != "accepted" else None, "agency": agency,
                "deadline": "2099-01-01T00:00:00+07:00"})
            assert r.status_code == 200, r.get_data(as_text=True)
        return str(sid)

    return go


@pytest.fixture
def live_relay(app: Any) -> Iterator[str]:
    """The relay on a loopback port, for clients that speak real HTTP."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
