"""Hostile input catalogue: every case gets a clear 4xx, stores nothing, forwards nothing.

One table of requests an attacker (or a broken client) might send. Each runs
against a fresh relay; the submission and outbox row counts must not move and
no answer may be a 5xx. A second table covers input that is legitimate text
(markup, SQL metacharacters, odd Unicode): it is stored as text, cleaned of
invisible characters, and escaped wherever a page shows it.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer
from PIL import Image

from widget_server.store import db
from widget_server.intake import sites, tokens


@dataclass
class Ctx:
    app: Any
    client: Any
    site: sites.Site
    secret: str
    body: dict[str, Any]

    def auth(self, key: str = "hostile-1") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}", "Idempotency-Key": key}

    def form_token(self, site_key: str | None = None) -> str:
        with self.app.test_request_context():
            return tokens.issue_form_token(site_key or self.site.key)

    def form_headers(self, token: str | None = None) -> dict[str, str]:
        return {"X-Form-Token": token or self.form_token(), "Origin": "http://relay.test"}


@dataclass
class Case:
    name: str
    request: Callable[[Ctx], Any]
    statuses: tuple[int, ...]
    config: dict[str, Any] = field(default_factory=dict)
    setup: Callable[[Ctx], Any] | None = None


def post_json(path: str = "/api/v1/submissions", **changes: Any) -> Callable[[Ctx], Any]:
    def run(c: Ctx) -> Any:
        body = {**c.body, **changes}
        return c.client.post(path, json=body, headers=c.auth())
    return run


def post_raw(data: bytes, content_type: str | None = "application/json") -> Callable[[Ctx], Any]:
    def run(c: Ctx) -> Any:
        headers = c.auth()
        kwargs: dict[str, Any] = {"data": data, "headers": headers}
        if content_type:
            kwargs["content_type"] = content_type
        return c.client.post("/api/v1/submissions", **kwargs)
    return run


def nested(path: str, value: Any) -> Callable[[Ctx], Any]:
    """Replace one dotted field of the valid body."""
    def run(c: Ctx) -> Any:
        body = json.loads(json.dumps(c.body))
        target = body
        *parents, last = path.split(".")
        for p in parents:
            target = target[p]
        target[last] = value
        return c.client.post("/api/v1/submissions", json=body, headers=c.auth())
    return run


def multipart(files: list[tuple[bytes, str]], submission: str | None = None) -> Callable[[Ctx], Any]:
    def run(c: Ctx) -> Any:
        data: dict[str, Any] = {"files": [(io.BytesIO(b), n) for b, n in files]}
        data["submission"] = submission if submission is not None else json.dumps(c.body)
        return c.client.post("/api/v1/submissions", data=data, content_type="multipart/form-data",
                             headers=c.auth())
    return run


def with_headers(headers: Callable[[Ctx], dict[str, str]]) -> Callable[[Ctx], Any]:
    def run(c: Ctx) -> Any:
        return c.client.post("/api/v1/submissions", json=c.body, headers=headers(c))
    return run


def png(size: tuple[int, int] = (8, 8), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


def signed_event(secret_of: Callable[[Ctx], str], *, age: int = 0, body: bytes | None = None,
                 msg_id: str = "msg_hostile") -> Callable[[Ctx], Any]:
    def run(c: Ctx) -> Any:
        from phanhoi.webhooks import sign_headers

        payload = body or json.dumps({"type": "submission.status_changed", "data": {
            "submission_id": "nope", "status": "accepted", "sequence": 1}}).encode()
        headers = sign_headers(payload, secret_of(c), msg_id=msg_id, timestamp=int(time.time()) - age)
        return c.client.post("/api/v1/central/events", data=payload,
                             headers={**headers, "Content-Type": "application/json"})
    return run


def foreign_token(c: Ctx) -> str:
    serializer = URLSafeTimedSerializer("another relay's secret key!!", salt=tokens.SALT)
    return tokens.PREFIX + serializer.dumps({"s": c.site.key, "n": "abc"})


def replay_setup(c: Ctx) -> None:
    token = c.form_token()
    c.app.config["_replay_token"] = token
    r = c.client.post("/api/v1/submissions", json=c.body, headers=c.form_headers(token))
    assert r.status_code == 201


BOMB = None


def bomb() -> bytes:
    global BOMB
    if BOMB is None:
        out = io.BytesIO()
        Image.new("1", (13000, 13000)).save(out, "PNG")
        BOMB = out.getvalue()
    return BOMB


HTML_PNG = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
GIFAR = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"PK\x03\x04" + b"\x00" * 64  # JPEG head, ZIP body
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120
PDF_JS = b"%PDF-1.7\n1 0 obj<</Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF"
PDF_LAUNCH = b"%PDF-1.7\n1 0 obj<</S/Launch/F(cmd.exe)>>endobj\n%%EOF"
PDF_TRUNCATED = b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\n"
PDF_POLYGLOT = b"<html><script>alert(1)</script>%PDF-1.4\n%%EOF"

CASES: list[Case] = [
    # Bodies that are not the JSON object we expect.
    Case("empty body", post_raw(b""), (400,)),
    Case("truncated JSON", post_raw(b'{"title": "abc'), (400,)),
    Case("JSON null", post_raw(b"null"), (422,)),
    Case("JSON array", post_raw(b"[]"), (422,)),
    Case("JSON string", post_raw(b'"x"'), (422,)),
    Case("JSON number", post_raw(b"42"), (422,)),
    Case("NaN literal", post_raw(b'{"title": NaN}'), (400,)),
    Case("Infinity literal", post_raw(b'{"lat": Infinity}'), (400,)),
    Case("huge JSON", post_raw(b'{"content": "' + b"a" * 300_000 + b'"}'), (413,)),
    Case("deep nesting", post_raw(b"[" * 100_000 + b"]" * 100_000), (400, 413)),
    Case("invalid UTF-8", post_raw(b'{"title": "\xff\xfe\xc3\x28"}'), (400,)),
    Case("UTF-16 body", post_raw(json.dumps({"title": "x"}).encode("utf-16")), (400,)),
    Case("BOM before JSON", post_raw(b"\xef\xbb\xbf{}"), (400, 422)),
    Case("duplicate keys, invalid last", post_raw(b'{"title": "ok ok ok", "title": ""}'), (422,)),
    # "\ud800": JSON's grammar allows the escape, but it is half a character that no text can hold.
    Case("lone surrogate in title", lambda c: post_raw(json.dumps({**c.body, "title": "Rác \ud800 ở chợ"}).encode())(c),
         (400,)),
    Case("lone surrogate in name", lambda c: post_raw(json.dumps(
        {**c.body, "submitter": {**c.body["submitter"], "name": "L\udfffê"}}).encode())(c), (400,)),
    Case("lone surrogate as a key", post_raw(b'{"\\udc00": 1}'), (400,)),
    Case("multipart, lone surrogate", lambda c: multipart(
        [(png(), "a.png")], submission=json.dumps({**c.body, "content": "x\ud83d"}))(c), (400,)),
    Case("text/plain", post_raw(b"{}", "text/plain"), (415,)),
    Case("form-urlencoded", post_raw(b"title=x", "application/x-www-form-urlencoded"), (415,)),
    Case("no content type", post_raw(b"{}", None), (415,)),
    Case("XML", post_raw(b"<?xml version='1.0'?><x/>", "application/xml"), (415,)),
    # Fields.
    Case("unknown field", post_json(evil=1), (422,)),
    Case("prototype pollution key", post_json(__proto__={"admin": True}), (422,)),
    Case("title too long", post_json(title="Â" * 301), (422,)),
    Case("content too long", post_json(content="x" * 100_001), (422, 413)),
    Case("title only invisible chars", post_json(title="\u200b\u202e\u2066\ufeff\u0000" * 5), (422,)),
    Case("title only NUL bytes", post_json(title="\u0000" * 20), (422,)),
    Case("title as object", post_json(title={"$gt": ""}), (422,)),
    Case("title as list", post_json(title=["a"] * 10), (422,)),
    Case("name too long", nested("submitter.name", "N" * 10_000), (422,)),
    Case("name only zero-width", nested("submitter.name", "\u200b\u200c\u200d"), (422,)),
    Case("phone SQL", nested("submitter.phone", "'; DROP TABLE submissions;--"), (422,)),
    Case("phone letters", nested("submitter.phone", "09xx-abc-def"), (422,)),
    Case("email header injection", nested("submitter.email", "a@b.vn\r\nBcc: x@evil.example"), (422,)),
    Case("email without domain", nested("submitter.email", "someone@"), (422,)),
    Case("no contact at all", nested("submitter", {"name": "Lê Văn A", "phone": None, "email": None}), (422,)),
    Case("submitter as string", post_json(submitter="Lê Văn A 0912345678"), (422,)),
    Case("category SQL", post_json(category="moi-truong' OR '1'='1"), (422,)),
    Case("category traversal", post_json(category="../../etc/passwd"), (422,)),
    Case("agency unknown", post_json(agency="cia"), (422,)),
    Case("commune traversal", nested("location.commune_code", "../../x"), (422,)),
    Case("latitude out of range", nested("location.lat", 91), (422,)),
    Case("latitude overflow to inf", post_raw(
        b'{"location": {"lat": 1e999, "lon": 1}}'), (422,)),
    Case("latitude without longitude", nested("location.lon", None), (422,)),
    Case("address too long", nested("location.address", "đ" * 5000), (422,)),
    Case("confidential as object", post_json(confidential={"x": 1}), (422,)),
    Case("consent not accepted", nested("consent.accepted", False), (422,)),
    Case("consent as string", nested("consent.accepted", "false"), (422,)),
    Case("consent missing", post_json(consent=None), (422,)),
    Case("consent old version", nested("consent.version", "2019-01.deadbeef00"), (422,)),
    Case("javascript: source URL", post_json(source_url="javascript:alert(1)"), (422,)),
    Case("data: source URL", post_json(source_url="data:text/html,<script>alert(1)</script>"), (422,)),
    Case("source URL too long", post_json(source_url="https://x.example/" + "a" * 3000), (422,)),
    Case("honeypot filled", post_json(hp="http://spam.example"), (422,)),
    Case("src traversal", post_json(src="../../admin"), (422,)),
    Case("altcha oversized", post_json(altcha="A" * 5000), (422,)),
    # Authentication: secrets, form tokens, origins.
    Case("no credentials", with_headers(lambda c: {}), (401,)),
    Case("forged secret", with_headers(lambda c: {"Authorization": "Bearer sk_forged", "Idempotency-Key": "k"}), (401,)),
    Case("basic auth", with_headers(lambda c: {"Authorization": "Basic YWRtaW46YWRtaW4="}), (401,)),
    Case("secret without idempotency key", with_headers(lambda c: {"Authorization": f"Bearer {c.secret}"}), (400,)),
    Case("idempotency key too long", with_headers(lambda c: c.auth("k" * 300)), (400,)),
    Case("secret from unregistered origin", with_headers(
        lambda c: {**c.auth(), "Origin": "https://evil.example"}), (403,)),
    Case("forged form token", with_headers(lambda c: {"X-Form-Token": "ft1.eyJzIjoieCJ9.forged"}), (403,)),
    Case("form token without prefix", with_headers(lambda c: {"X-Form-Token": c.form_token()[4:]}), (403,)),
    Case("form token from another relay", with_headers(lambda c: {"X-Form-Token": foreign_token(c)}), (403,)),
    Case("form token too long", with_headers(lambda c: {"X-Form-Token": "ft1." + "a" * 600}), (403,)),
    Case("expired form token", with_headers(lambda c: c.form_headers()), (403,),
         config={"FORM_TOKEN_MAX_AGE": -1}),
    Case("form submitted too fast", with_headers(lambda c: c.form_headers()), (422,),
         config={"MIN_FILL_SECONDS": 60}),
    Case("form token for another site", with_headers(
        lambda c: {**c.form_headers(), "X-Site-Key": "pk_someoneelse"}), (403,)),
    Case("form from unregistered origin", with_headers(
        lambda c: {**c.form_headers(), "Origin": "https://evil.example"}), (403,)),
    Case("form from partner origin", with_headers(
        lambda c: {**c.form_headers(), "Origin": "https://baothanhhoa.example"}), (403,)),
    Case("replayed form token, other body", lambda c: c.client.post(
        "/api/v1/submissions", json={**c.body, "title": "Một nội dung khác hẳn"},
        headers=c.form_headers(c.app.config["_replay_token"])), (422,), setup=replay_setup),
    # Files.
    Case("HTML named .png", multipart([(HTML_PNG, "a.png")]), (415,)),
    Case("SVG with script", multipart([(SVG, "a.svg")]), (415,)),
    Case("executable named .pdf", multipart([(EXE, "hoa-don.pdf")]), (415,)),
    Case("RTL override file name", multipart([(EXE, "anh\u202egnp.exe")]), (415,)),
    Case("JPEG/ZIP polyglot", multipart([(GIFAR, "a.jpg")]), (422,)),
    Case("HTML/PDF polyglot", multipart([(PDF_POLYGLOT, "a.pdf")]), (415,)),
    Case("PDF with JavaScript", multipart([(PDF_JS, "a.pdf")]), (422,)),
    Case("PDF with Launch", multipart([(PDF_LAUNCH, "a.pdf")]), (422,)),
    Case("truncated PDF", multipart([(PDF_TRUNCATED, "a.pdf")]), (422,)),
    Case("decompression bomb", multipart([(b"", "")]), (422,)),  # replaced below
    Case("too many files", multipart([(png(), f"{i}.png") for i in range(6)]), (422,)),
    Case("traversal file name, bad content", multipart([(b"\x00" * 10, "../../../../etc/cron.d/x")]), (415,)),
    Case("multipart, submission not JSON", multipart([(png(), "a.png")], submission="{nope"), (400,)),
    Case("multipart, submission NaN", multipart([(png(), "a.png")], submission='{"lat": NaN}'), (400,)),
    Case("multipart, invalid submission", multipart([(png(), "a.png")], submission="{}"), (422,)),
    # Central events: forged, expired, replayed signatures.
    Case("event unsigned", lambda c: c.client.post("/api/v1/central/events", json={"type": "x"}), (401,)),
    Case("event signed with wrong secret", signed_event(lambda c: "whsec_" + "QUJD" * 8), (401,)),
    Case("event too old", signed_event(lambda c: c.app.config["CENTRAL_EVENTS_SECRET"], age=3600), (401,)),
    Case("event from the future", signed_event(lambda c: c.app.config["CENTRAL_EVENTS_SECRET"], age=-3600), (401,)),
    Case("event for unknown submission", signed_event(lambda c: c.app.config["CENTRAL_EVENTS_SECRET"]), (404,)),
    Case("event timestamp of superscript digits", lambda c: c.client.post(
        "/api/v1/central/events", data=b"{}", content_type="application/json",
        headers={"webhook-id": "msg_1", "webhook-timestamp": "\u00b2\u00b3", "webhook-signature": "v1,AAAA"}),
        (401,)),
    Case("event invalid JSON", signed_event(lambda c: c.app.config["CENTRAL_EVENTS_SECRET"], body=b"{nope"), (400,)),
    Case("event wrong type", signed_event(lambda c: c.app.config["CENTRAL_EVENTS_SECRET"],
                                          body=b'{"type": "submission.deleted", "data": {}}'), (422,)),
    # Lookups and citizen actions.
    Case("lookup SQL in code", lambda c: c.client.post("/api/v1/submissions/' OR 1=1--/lookup", json={"contact": "0912345678"}), (404,)),
    Case("lookup without contact", lambda c: c.client.post("/api/v1/submissions/PH-AAAA-AAAAT/lookup", json={}), (422,)),
    Case("lookup by GET (contact in the URL)", lambda c: c.client.get("/api/v1/submissions/PH-AAAA-AAAAT?contact=0912345678"), (410,)),
    Case("lookup with huge contact", lambda c: c.client.post(
        "/api/v1/submissions/PH-AAAA-AAAAT/lookup", json={"contact": "9" * 10_000}), (422,)),
    Case("lookup wildcard contact", lambda c: c.client.post("/api/v1/submissions/PH-AAAA-AAAAT/lookup", json={"contact": "%"}), (422, 404)),
    Case("rating not boolean", lambda c: c.client.post(
        "/api/v1/submissions/PH-AAAA-AAAAT/rating", json={"contact": "0912345678", "satisfied": "maybe"}), (422,)),
    Case("data request unknown kind", lambda c: c.client.post(
        "/api/v1/submissions/PH-AAAA-AAAAT/data-request",
        json={"contact": "0912345678", "kind": "drop_table"}), (422,)),
    Case("rating comment lone surrogate", lambda c: c.client.post(
        "/api/v1/submissions/PH-AAAA-AAAAT/rating", data=b'{"contact": "0912345678", "satisfied": true, '
        b'"comment": "\\ud800"}', content_type="application/json"), (400,)),
    Case("event lone surrogate", signed_event(lambda c: c.app.config["CENTRAL_EVENTS_SECRET"], body=(
        b'{"type": "submission.status_changed", "data": {"submission_id": "x", "status": "accepted", '
        b'"sequence": 1, "note": "\\udbff"}}')), (400,)),
    Case("data request NaN", lambda c: c.client.post(
        "/api/v1/submissions/PH-AAAA-AAAAT/data-request", data=b'{"contact": NaN}',
        content_type="application/json"), (400,)),
    Case("attachment link traversal", lambda c: c.client.get("/api/v1/attachments/..%2F..%2Fetc%2Fpasswd"), (404,)),
    Case("site config traversal", lambda c: c.client.get("/api/v1/sites/..%2F..%2Fetc/config"), (404,)),
]
CASES[[c.name for c in CASES].index("decompression bomb")] = Case(
    "decompression bomb", lambda c: multipart([(bomb(), "bomb.png")])(c), (422,))


def _counts() -> tuple[int, int, int]:
    with db.read() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                     for t in (db.submissions, db.outbox, db.attachments))  # type: ignore[return-value]


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 50
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input(app: Any, client: Any, site: Any, submission_body: dict[str, Any], case: Case) -> None:
    app.config.update(case.config)
    ctx = Ctx(app, client, site[0], site[1], submission_body)
    if case.setup:
        case.setup(ctx)
    before = _counts()
    resp = case.request(ctx)
    assert resp.status_code in case.statuses, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.status_code < 500
    if resp.status_code != 414:
        assert resp.mimetype == "application/problem+json"
        body = resp.get_json(force=True)
        assert body["status"] == resp.status_code and body["title"]
        assert "Traceback" not in resp.get_data(as_text=True)
    assert _counts() == before
    files = list((__import__("pathlib").Path(app.config["ATTACHMENT_DIR"])).rglob("*.*"))
    assert not [f for f in files if f.is_file()]


# --------------------------------------------------------------------------- text kept as text

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
TEXT_CASES = [
    ("markup in title", {"title": "Rác " + XSS}, "title", "Rác " + XSS),
    ("markup in content", {"content": "Nội dung dài đủ " + XSS + " thêm chữ"}, "content",
     "Nội dung dài đủ " + XSS + " thêm chữ"),
    ("SQL in content", {"content": "Robert'); DROP TABLE submissions;-- nội dung"}, "content",
     "Robert'); DROP TABLE submissions;-- nội dung"),
    ("RTL override stripped", {"title": "Rác thải \u202eđảo ngược\u202c ở chợ"}, "title",
     "Rác thải đảo ngược ở chợ"),
    ("zero-width stripped", {"title": "Rá\u200bc th\u200dải\ufeff ở chợ"}, "title", "Rác thải ở chợ"),
    ("NUL stripped", {"content": "Nội dung\u0000 có ký tự NUL ở giữa câu"}, "content",
     "Nội dung có ký tự NUL ở giữa câu"),
    ("decomposed to NFC", {"title": "Thanh Hoa\u0301 ô nhiễm"}, "title", "Thanh Ho\u00e1 ô nhiễm"),
    ("markup in name", {"submitter": {"name": XSS, "phone": "0912345678", "email": None}}, "name", XSS),
]


@pytest.mark.parametrize(("name", "changes", "column", "stored"), TEXT_CASES,
                         ids=[c[0] for c in TEXT_CASES])
def test_text_is_stored_as_text(client: Any, site: Any, submission_body: dict[str, Any], name: str,
                                changes: dict[str, Any], column: str, stored: str) -> None:
    r = client.post("/api/v1/submissions", json={**submission_body, **changes},
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "t"})
    assert r.status_code == 201, r.get_json()
    with db.read() as conn:
        value = conn.execute(sa.select(db.submissions.c[column])).scalar_one()
        assert conn.execute(sa.select(sa.func.count()).select_from(db.submissions)).scalar_one() == 1
    assert value == stored


def test_pages_escape_what_they_show(app: Any, client: Any, site: Any, submission_body: dict[str, Any]) -> None:
    """Markup from a citizen or from the central system is shown as text on the track page."""
    from phanhoi.webhooks import sign_headers

    r = client.post("/api/v1/submissions", json={**submission_body, "title": "Rác " + XSS},
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "t"})
    code, sid = r.get_json()["tracking_code"], r.get_json()["id"]
    event = json.dumps({"type": "submission.status_changed", "data": {
        "submission_id": sid, "status": "answered", "sequence": 1, "note": "Ghi chú " + XSS,
        "answer": "Trả lời " + XSS, "agency": "UBND " + XSS}}).encode()
    headers = sign_headers(event, app.config["CENTRAL_EVENTS_SECRET"], msg_id="msg_xss")
    assert client.post("/api/v1/central/events", data=event,
                       headers={**headers, "Content-Type": "application/json"}).status_code == 200
    page = client.post(f"/w/{site[0].key}/track", data={"code": code, "contact": "0912345678"})
    if page.status_code == 404 and b"<form" not in page.data:
        pytest.skip("track page not present")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:300]
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html or "&lt;script&gt;".replace("&gt;", "&#62;") in html
    # Hostile values typed into the lookup form are escaped when echoed back.
    page = client.post(f"/w/{site[0].key}/track", data={"code": '"><script>alert(1)</script>',
                                                        "contact": '"><img src=x onerror=alert(1)>'})
    html = page.get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html


def test_central_operator_page_escapes_forwarded_text(app: Any, client: Any, site: Any,
                                                      submission_body: dict[str, Any],
                                                      tmp_path: Any) -> None:
    """The reference central system shows what the relay forwards as text, too."""
    central_system = pytest.importorskip("central_system")
    from phanhoi.webhooks import sign_headers

    hostile = {**submission_body, "title": "Rác " + XSS,
               "content": "Nội dung " + XSS + " đủ dài để nhận",
               "submitter": {"name": "Tên " + XSS, "phone": "0912345678", "email": None},
               "location": {"commune_code": None, "address": "Địa chỉ " + XSS, "lat": None, "lon": None}}
    r = client.post("/api/v1/submissions", json=hostile,
                    headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": "op"})
    assert r.status_code == 201
    with db.read() as conn:
        payload = conn.execute(sa.select(db.outbox.c.payload)).scalar_one()
    secret = app.config["CENTRAL_SECRET"]
    central = central_system.create_app({"TESTING": True, "SECRET_KEY": "x" * 32,
                                         "DATABASE": str(tmp_path / "central.sqlite3"),
                                         "INTAKE_SECRET": secret, "EVENTS_SECRET": secret})
    body = json.dumps({"type": "submission.created", "timestamp": "2026-01-01T00:00:00Z",
                       "data": payload["data"]}, ensure_ascii=False).encode()
    cc = central.test_client()
    r = cc.post("/intake/v1/submissions", data=body,
                headers={**sign_headers(body, secret, msg_id="msg_op"), "Content-Type": "application/json"})
    assert r.status_code in {200, 201, 202}, r.get_data(as_text=True)
    central_id = r.get_json()["central_id"]
    for path in ("/", f"/submissions/{central_id}"):
        html = cc.get(path).get_data(as_text=True)
        assert "Rác &lt;script&gt;" in html or "Rác &lt;script" in html
        assert "<script>alert" not in html and "<img src=x" not in html
