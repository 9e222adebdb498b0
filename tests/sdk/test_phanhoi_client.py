"""Client: settings, endpoints, idempotency, multipart, typed answers."""

from __future__ import annotations

import json
from datetime import datetime
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

from tests.sdk import relay_fixtures

BASE = "https://relay.test"
SUBMIT_URL = BASE + "/api/v1/submissions"
RECEIPT = relay_fixtures.load("receipt")
CODE = RECEIPT["tracking_code"]
LOOKUP = relay_fixtures.load("lookup")


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
    assert receipt.tracking_code == CODE
    assert receipt.id == RECEIPT["id"]
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
    mocked.get(
        BASE + f"/api/v1/submissions/{CODE}",
        match=[matchers.query_param_matcher({"contact": "0912345678"})],
        json=LOOKUP,
    )
    status = client.status(CODE, "0912345678")
    assert status.status == LOOKUP["status"] == "answered"
    assert status.status_label == LOOKUP["status_label"] == "Đã trả lời"
    first = LOOKUP["history"][0]
    assert status.history[0] == HistoryEntry(first["status"], datetime.fromisoformat(first["at"]), None)
    assert [h.note for h in status.history] == [h["note"] for h in LOOKUP["history"]]
    assert status.answer is not None and isinstance(status.answer, Answer)
    assert status.answer.text == LOOKUP["answer"]["text"]
    assert status.answer.agency == LOOKUP["answer"]["agency"]
    assert status.deadline == datetime.fromisoformat(LOOKUP["deadline"])
    assert status.overdue is False and status.rating is None
    assert status.can_rate is True and status.category == LOOKUP["category"]
    assert status.submitted_at == datetime.fromisoformat(LOOKUP["submitted_at"])
    assert status.submitted_at.tzinfo is not None
    assert (status.consent_withdrawn, status.redacted) == (False, False)


def test_status_without_answer(client: Client, mocked: responses.RequestsMock) -> None:
    mocked.get(
        BASE + "/api/v1/submissions/X",
        json={"tracking_code": "X", "status": "received", "history": [], "answer": None},
    )
    status = client.status("X", "a@b.vn")
    assert status.answer is None and status.deadline is None


def test_rate(client: Client, mocked: responses.RequestsMock) -> None:
    answer = relay_fixtures.load("rating_answer")
    mocked.post(
        BASE + f"/api/v1/submissions/{CODE}/rating",
        match=[
            matchers.json_params_matcher(
                {"contact": "0912345678", "satisfied": True, "comment": "Cảm ơn"}
            )
        ],
        json=answer,
    )
    assert client.rate(CODE, "0912345678", True, "Cảm ơn") == answer
    assert mocked.calls[0].request.headers["Idempotency-Key"]


def test_data_request(client: Client, mocked: responses.RequestsMock) -> None:
    answer = relay_fixtures.load("data_request_answer")
    mocked.post(
        BASE + f"/api/v1/submissions/{CODE}/data-request",
        match=[matchers.json_params_matcher({"contact": "a@b.vn", "kind": "delete"})],
        status=202,
        json=answer,
    )
    assert client.data_request(CODE, "a@b.vn", "delete") == answer
    with pytest.raises(ValueError):
        client.data_request(CODE, "a@b.vn", "erase")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["rating", "data-request"])
def test_citizen_actions_keep_one_idempotency_key_across_retries(
    client: Client, mocked: responses.RequestsMock, sleeps: list[float], path: str
) -> None:
    url = BASE + f"/api/v1/submissions/{CODE}/{path}"
    mocked.post(url, status=503)
    mocked.post(url, json={})
    if path == "rating":
        client.rate(CODE, "0912345678", True)
        client_call = lambda: client.rate(CODE, "0912345678", True)  # noqa: E731
    else:
        client.data_request(CODE, "0912345678", "delete")
        client_call = lambda: client.data_request(CODE, "0912345678", "delete")  # noqa: E731
    keys = [c.request.headers["Idempotency-Key"] for c in mocked.calls]
    assert len(keys) == 2 and keys[0] == keys[1]
    mocked.post(url, json={})
    client_call()
    assert mocked.calls[-1].request.headers["Idempotency-Key"] != keys[0]


def test_the_secret_key_is_not_sent_over_plain_http_to_another_machine(
    mocked: responses.RequestsMock,
) -> None:
    with pytest.raises(PhanHoiError, match="plain http"):
        Client("http://relay.example.vn", "site_1", "sk_test").submit(make_submission())
    assert len(mocked.calls) == 0
    mocked.post("http://127.0.0.1:5000/api/v1/submissions", status=201, json=RECEIPT)
    Client("http://127.0.0.1:5000", "site_1", "sk_test").submit(make_submission())
    mocked.post("http://relay.internal/api/v1/submissions", status=201, json=RECEIPT)
    Client("http://relay.internal", "site_1", "sk_test", allow_http=True).submit(make_submission())


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
