"""Client: settings, endpoints, idempotency, multipart, typed answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import responses
from phanhoi import (
    Answer,
    Choice,
    Client,
    ConsentGiven,
    HistoryEntry,
    Location,
    PhanHoiError,
    SubmissionCreate,
    Submitter,
)
from phanhoi.client import DEFAULT_BASE_URL
from phanhoi.errors import InternalServerError, UnprocessableEntityError
from responses import matchers

BASE = "https://relay.test"
SUBMIT_URL = BASE + "/api/v1/submissions"
RECEIPT = {
    "id": "sub_01",
    "tracking_code": "TH7K-Q2MX",
    "status": "received",
    "status_url": BASE + "/w/site_1/track?code=TH7K-Q2MX",
}


def make_submission() -> SubmissionCreate:
    return SubmissionCreate(
        category="moi-truong",
        title="Rác thải tồn đọng ở chợ",
        content="Rác không được thu gom ba ngày nay.",
        location=Location(commune_code="16000", address="Chợ Vườn Hoa", lat=19.8, lon=105.77),
        submitter=Submitter(name="Lê Văn A", phone="0912345678"),
        consent=ConsentGiven(version="2025-07", accepted=True),
        source_url="https://news.example/bai-viet",
    )


@pytest.fixture
def client() -> Client:
    return Client(BASE, "site_1", "sk_test")


def test_settings_argument_env_default(monkeypatch: pytest.MonkeyPatch) -> None:
    c = Client()
    assert (c.base_url, c.site_key, c.secret_key) == (DEFAULT_BASE_URL, None, None)
    monkeypatch.setenv("PHANHOI_BASE_URL", "https://env.test/")
    monkeypatch.setenv("PHANHOI_SITE_KEY", "site_env")
    monkeypatch.setenv("PHANHOI_SITE_SECRET", "sk_env")
    c = Client()
    assert (c.base_url, c.site_key, c.secret_key) == ("https://env.test", "site_env", "sk_env")
    c = Client("https://arg.test", "site_arg", "sk_arg")
    assert (c.base_url, c.site_key, c.secret_key) == ("https://arg.test", "site_arg", "sk_arg")
    assert "sk_arg" not in repr(c)
    with pytest.raises(ValueError):
        Client(max_retries=-1)


def test_context_manager_closes_own_session_only(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[requests.Session] = []
    monkeypatch.setattr(requests.Session, "close", lambda self: closed.append(self))
    with Client(BASE) as c:
        own = c._session
    assert closed == [own]
    shared = requests.Session()
    with Client(BASE, session=shared):
        pass
    assert closed == [own]


def test_site_config(client: Client, mocked: responses.RequestsMock) -> None:
    body = {
        "name": "Báo Thanh Hóa",
        "locale": "vi",
        "theme": {"primary": "#b30000"},
        "categories": [{"code": "moi-truong", "name": "Môi trường"}],
        "agencies": [{"code": "ubnd-tinh", "name": "UBND tỉnh"}],
        "communes": [{"code": "16000", "name": "Phường Hạc Thành"}],
        "required_fields": ["title", "content", "submitter.name"],
        "consent": {"version": "2025-07", "text": "Tôi đồng ý…", "recipient": "UBND tỉnh"},
        "extra": 1,
    }
    mocked.get(BASE + "/api/v1/sites/site_1/config", json=body)
    config = client.site_config()
    assert config.name == "Báo Thanh Hóa"
    assert config.categories == [Choice("moi-truong", "Môi trường")]
    assert config.agencies[0].name == "UBND tỉnh"
    assert config.communes[0].code == "16000"
    assert config.required_fields == ["title", "content", "submitter.name"]
    assert config.consent.version == "2025-07"
    assert config.consent.recipient == "UBND tỉnh"
    assert config.theme == {"primary": "#b30000"}
    assert config.raw["extra"] == 1
    ua = mocked.calls[0].request.headers["User-Agent"]
    assert ua == "phanhoi-python/0.1.0"


def test_site_key_is_path_encoded(mocked: responses.RequestsMock) -> None:
    mocked.get(BASE + "/api/v1/sites/a%2F..%3Fb/config", json={})
    Client(BASE).site_config("a/..?b")


def test_site_config_needs_site_key() -> None:
    with pytest.raises(PhanHoiError, match="PHANHOI_SITE_KEY"):
        Client(BASE).site_config()


def test_submit_json(client: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT)
    receipt = client.submit(make_submission())
    assert receipt.tracking_code == "TH7K-Q2MX"
    assert receipt.id == "sub_01"
    assert receipt.status == "received"
    assert receipt.replayed is False
    request = mocked.calls[0].request
    assert request.headers["Authorization"] == "Bearer sk_test"
    assert json.loads(request.body or b"") == {
        "category": "moi-truong",
        "agency": None,
        "title": "Rác thải tồn đọng ở chợ",
        "content": "Rác không được thu gom ba ngày nay.",
        "location": {
            "commune_code": "16000",
            "address": "Chợ Vườn Hoa",
            "lat": 19.8,
            "lon": 105.77,
        },
        "submitter": {"name": "Lê Văn A", "phone": "0912345678", "email": None},
        "confidential": True,
        "consent": {"version": "2025-07", "accepted": True},
        "source_url": "https://news.example/bai-viet",
    }


def test_submit_needs_secret(mocked: responses.RequestsMock) -> None:
    with pytest.raises(PhanHoiError, match="PHANHOI_SITE_SECRET"):
        Client(BASE, "site_1").submit(make_submission())


def test_idempotency_key_same_across_retries_new_per_call(
    client: Client, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    mocked.post(SUBMIT_URL, body=requests.ConnectionError("reset"))
    mocked.post(SUBMIT_URL, status=503)
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT)
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT)
    client.submit(make_submission())
    client.submit(make_submission())
    keys = [c.request.headers["Idempotency-Key"] for c in mocked.calls]
    assert len(keys) == 4
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] != keys[0]
    assert len(sleeps) == 2


def test_caller_idempotency_key_kept(
    client: Client, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    mocked.post(SUBMIT_URL, status=500)
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT)
    client.submit(make_submission(), idempotency_key="cms-row-123")
    assert [c.request.headers["Idempotency-Key"] for c in mocked.calls] == ["cms-row-123"] * 2


def test_replayed_flag(client: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT, headers={"Idempotent-Replayed": "true"})
    assert client.submit(make_submission(), idempotency_key="k").replayed is True


def test_key_reuse_with_other_body_is_422(client: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(
        SUBMIT_URL,
        status=422,
        json={"type": "about:blank", "title": "Idempotency-Key reused", "status": 422},
        content_type="application/problem+json",
    )
    with pytest.raises(UnprocessableEntityError):
        client.submit({"title": "other"}, idempotency_key="k")


def test_submit_multipart(client: Client, mocked: responses.RequestsMock, tmp_path: Path) -> None:
    photo = tmp_path / "anh-cho.jpg"
    photo.write_bytes(b"\xff\xd8jpeg")
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT)
    client.submit(make_submission(), files=[photo, ("ghi-chu.txt", b"hello", "text/plain")])
    request = mocked.calls[0].request
    content_type = request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=")[1].encode()
    body = request.body
    assert isinstance(body, bytes)
    parts = [p for p in body.split(b"--" + boundary) if p.strip(b"-\r\n")]
    assert len(parts) == 3
    head, _, payload = parts[0].partition(b"\r\n\r\n")
    assert b'name="submission"' in head and b"filename" not in head
    assert b"Content-Type: application/json" in head
    assert json.loads(payload.rstrip(b"\r\n"))["title"] == "Rác thải tồn đọng ở chợ"
    assert b'name="files"; filename="anh-cho.jpg"' in parts[1]
    assert b"Content-Type: image/jpeg" in parts[1] and b"\xff\xd8jpeg" in parts[1]
    assert b'name="files"; filename="ghi-chu.txt"' in parts[2]
    assert b"Content-Type: text/plain" in parts[2]
    assert request.headers["Idempotency-Key"]


def test_multipart_retry_resends_same_files(
    client: Client, mocked: responses.RequestsMock, sleeps: list[float]
) -> None:
    mocked.post(SUBMIT_URL, status=502)
    mocked.post(SUBMIT_URL, status=201, json=RECEIPT)
    client.submit(make_submission(), files=[("a.png", b"PNGDATA", "image/png")])
    assert all(b"PNGDATA" in (c.request.body or b"") for c in mocked.calls)


def test_status(client: Client, mocked: responses.RequestsMock) -> None:
    # The contact travels in the body: URLs end up in proxies' logs.
    mocked.post(
        BASE + "/api/v1/submissions/TH7K-Q2MX/lookup",
        match=[matchers.json_params_matcher({"contact": "0912345678"}),
               matchers.query_param_matcher({})],
        json={
            "tracking_code": "TH7K-Q2MX",
            "status": "answered",
            "history": [
                {"status": "received", "at": "2025-03-01T08:00:00Z", "note": None},
                {"status": "answered", "at": "2025-03-05T10:30:00+07:00", "note": "Đã xử lý"},
            ],
            "answer": {
                "text": "Đã thu gom.",
                "agency": "UBND phường",
                "answered_at": "2025-03-05T10:30:00+07:00",
            },
            "deadline": "2025-03-18T00:00:00Z",
            "overdue": False,
            "rating": None,
            "can_rate": True,
            "submitted_at": "2025-03-01T08:00:00Z",
            "category": "moi-truong",
            "title": "Rác",
        },
    )
    status = client.status("TH7K-Q2MX", "0912345678")
    assert status.status == "answered"
    assert status.status_label == "Đã trả lời"
    assert status.history[0] == HistoryEntry("received", datetime(2025, 3, 1, 8, tzinfo=UTC), None)
    assert status.history[1].at == datetime(2025, 3, 5, 3, 30, tzinfo=UTC)
    assert status.answer is not None and isinstance(status.answer, Answer)
    assert status.answer.agency == "UBND phường"
    assert status.deadline == datetime(2025, 3, 18, tzinfo=UTC)
    assert status.overdue is False
    assert status.rating is None
    assert status.can_rate is True and status.category == "moi-truong"
    assert status.submitted_at == datetime(2025, 3, 1, 8, tzinfo=UTC)


def test_status_without_answer(client: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(
        BASE + "/api/v1/submissions/X/lookup",
        json={"tracking_code": "X", "status": "received", "history": [], "answer": None},
    )
    status = client.status("X", "a@b.vn")
    assert status.answer is None and status.deadline is None


def test_rate(client: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(
        BASE + "/api/v1/submissions/TH7K-Q2MX/rating",
        match=[
            matchers.json_params_matcher(
                {"contact": "0912345678", "satisfied": True, "comment": "Cảm ơn"}
            )
        ],
        json={"ok": True},
    )
    assert client.rate("TH7K-Q2MX", "0912345678", True, "Cảm ơn") == {"ok": True}


def test_data_request(client: Client, mocked: responses.RequestsMock) -> None:
    mocked.post(
        BASE + "/api/v1/submissions/TH7K-Q2MX/data-request",
        match=[matchers.json_params_matcher({"contact": "a@b.vn", "kind": "delete"})],
        status=202,
        body=b"",
    )
    assert client.data_request("TH7K-Q2MX", "a@b.vn", "delete") == {}
    with pytest.raises(ValueError):
        client.data_request("TH7K-Q2MX", "a@b.vn", "erase")  # type: ignore[arg-type]


def test_non_json_success_raises(client: Client, mocked: responses.RequestsMock) -> None:
    mocked.get(BASE + "/api/v1/sites/site_1/config", body="<html>")
    with pytest.raises(PhanHoiError, match="JSON"):
        client.site_config()


def test_5xx_exhausted(client: Client, mocked: responses.RequestsMock, sleeps: list[float]) -> None:
    for _ in range(3):
        mocked.get(BASE + "/api/v1/sites/site_1/config", status=500)
    with pytest.raises(InternalServerError):
        client.site_config()
    assert sleeps == pytest.approx([0.1, 0.2])
