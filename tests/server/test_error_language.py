"""Every error the relay answers speaks Vietnamese first: problem+json details, the central
system's validation messages, and the page a browser gets for a path nothing serves."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest
from phanhoi.webhooks import sign_headers

# marshmallow's and Werkzeug's own English sentences, none of which may reach a reader.
ENGLISH = re.compile(r"^(Not a valid|Missing data|Field may not|Must be|Length must|Longer than|Shorter than|"
                     r"Invalid input|Unknown field|The requested URL|The method is not allowed)")


def _messages(errors: Any) -> list[str]:
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in _messages(value)]
    if isinstance(errors, list):
        return [m for value in errors for m in _messages(value)]
    return [str(errors)]


@pytest.mark.parametrize("method, path, status", [
    ("get", "/api/v1/nope", 404),
    ("delete", "/api/v1/submissions", 405),
    ("put", "/api/v1/results", 405),
])
def test_api_errors_without_a_detail_of_their_own_get_a_vietnamese_one(client: Any, method: str, path: str,
                                                                       status: int) -> None:
    resp = getattr(client, method)(path)
    assert resp.status_code == status
    assert resp.mimetype == "application/problem+json"
    problem = resp.get_json()
    assert not ENGLISH.match(problem["detail"]), problem
    assert re.search(r"[ạ-ỹđĐ]", problem["detail"]), problem  # Vietnamese, with its diacritics
    if status == 405:
        assert resp.headers["Allow"]
        assert "Allow" in problem["detail"]


@pytest.mark.parametrize("path", ["/w/pk_nope/form", "/s/pk_nope", "/p/pk_nope/scoreboard", "/nope"])
def test_a_page_nothing_serves_is_a_vietnamese_page(client: Any, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    page = resp.get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Không tìm thấy" in page and "The requested URL was not found" not in page
    assert '<meta name="viewport"' in page


def test_a_page_with_another_method_keeps_its_allow_header(client: Any, site: Any) -> None:
    resp = client.delete(f"/w/{site[0].key}/form")
    assert resp.status_code == 405 and resp.mimetype == "text/html"
    assert "GET" in resp.headers["Allow"]
    assert '<html lang="vi">' in resp.get_data(as_text=True)


def _send(app: Any, client: Any, document: dict[str, Any]) -> Any:
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = sign_headers(body, app.config["CENTRAL_EVENTS_SECRET"], msg_id="msg_" + secrets.token_hex(8))
    return client.post("/api/v1/central/events", data=body, headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize("document", [
    {"type": "submission.status_changed", "data": {
        "submission_id": "", "status": "lost", "sequence": 0, "deadline": "yesterday", "note": 5,
        "updated_at": "2026-11-05T09:00:00", "central_id": "x" * 101}},
    {"type": "submission.status_changed", "data": {"sequence": "1"}},
    {"type": "submission.status_changed", "data": "text"},
    {"type": "result.published", "data": {
        "result_id": "", "title": "", "answer": None, "category": "Môi trường", "url": "ftp://x",
        "answered_at": "2026-13-40", "commune_code": "abc", "agency": "a" * 201}},
    {"type": "result.withdrawn", "timestamp": "soon", "data": {}},
])
def test_the_central_systems_mistakes_are_told_in_vietnamese_then_english(app: Any, client: Any,
                                                                          document: dict[str, Any]) -> None:
    resp = _send(app, client, document)
    assert resp.status_code in (400, 422), resp.get_data(as_text=True)
    problem = resp.get_json()
    messages = _messages(problem.get("errors") or {})
    assert messages, problem
    english = [m for m in messages if ENGLISH.match(m)]
    assert not english, english
    for message in messages:
        assert re.search(r"[ạ-ỹđĐ]", message), message


def test_a_page_that_fails_is_a_vietnamese_page_then_english(app: Any, client: Any, site: Any) -> None:
    """A server error on a page (here the console's, over a site row stored unreadable) was a
    line of plain text in Vietnamese only; now the same short page as the other errors."""
    import sqlalchemy as sa

    from widget_server.accounts import users
    from widget_server.store import db

    users.add("quantri@tinh.example", admin=True, password="mật-khẩu-đủ-dài-2026")
    with db.write() as conn:
        conn.execute(sa.update(db.sites).where(db.sites.c.id == site[0].id).values(theme=[1]))
    page = client.get("/console/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/console/sign-in", data={"csrf": token, "email": "quantri@tinh.example",
                                          "password": "mật-khẩu-đủ-dài-2026"})
    resp = client.get("/console/sites")
    assert resp.status_code == 500 and resp.mimetype == "text/html"
    body = resp.get_data(as_text=True)
    assert '<html lang="vi">' in body and "Lỗi máy chủ" in body and "(Internal Server Error)" in body
    assert "Traceback" not in body and "đỏ" not in body
