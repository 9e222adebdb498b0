"""Form, status and demo pages over HTTP (no browser): headers, no-JS posts, errors."""

from __future__ import annotations

import re
from typing import Any

import pytest

from widget_server.intake import tracking

from widget_server.intake import reference

ORIGIN = "https://baothanhhoa.example"


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _form(client: Any, key: str, path: str = "/s/{key}", query: str = "") -> str:
    resp = client.get(path.format(key=key) + query)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _valid(app: Any, site: Any, token: str, **extra: str) -> dict[str, str]:
    data = {
        "form_token": token,
        "category": reference.categories_for(site)[0]["code"],
        "title": "Rác thải tồn đọng ở chợ",
        "content": "Rác thải tồn đọng ở cổng phụ chợ nhiều ngày chưa được thu gom.",
        "submitter.name": "Lê Văn A",
        "submitter.phone": "0912345678",
        "confidential": "1",
        "consent.accepted": "1",
        "consent.version": reference.consent_for(site.name).version,
        "hp": "",
    }
    data.update(extra)
    return data


@pytest.mark.parametrize(
    ("path", "ancestors"),
    [("/w/{key}/form", ORIGIN), ("/w/{key}/track", ORIGIN), ("/s/{key}", "'none'")],
)
def test_strict_csp(client: Any, site: Any, path: str, ancestors: str) -> None:
    resp = client.get(path.format(key=site[0].key))
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert csp.endswith(f"frame-ancestors {ancestors}")
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in resp.headers
    html = resp.get_data(as_text=True)
    assert " style=" not in html and "<style" not in html
    assert re.search(r"<script(?![^>]*\b(src|type=\"application/json\"))", html) is None


@pytest.mark.parametrize("path", ["/w/nope/form", "/w/nope/track", "/s/nope"])
def test_unknown_site(client: Any, path: str) -> None:
    assert client.get(path).status_code == 404


def test_form_fields_and_defaults(client: Any, site: Any) -> None:
    html = _form(client, site[0].key)
    assert 'id="f-confidential" name="confidential" type="checkbox" value="1" checked' in html
    assert re.search(r'id="f-consent-accepted"[^>]*checked', html) is None
    assert "Chưa rõ cơ quan" in html
    assert "Khiếu nại và tố cáo" in html
    assert reference.RECIPIENT in html
    assert 'name="hp"' in html
    assert "Thanh Hóa" in html


def test_english(client: Any, site: Any) -> None:
    html = _form(client, site[0].key, query="?lang=en")
    assert '<html lang="en"' in html and "Send feedback" in html


def test_parent_origin_only_when_registered(client: Any, site: Any) -> None:
    key = site[0].key
    good = _form(client, key, "/w/{key}/form", f"?origin={ORIGIN}")
    assert f'data-parent-origin="{ORIGIN}"' in good
    bad = _form(client, key, "/w/{key}/form", "?origin=https://evil.example")
    assert "data-parent-origin" not in bad


def test_nojs_post_success_keeps_src(app: Any, client: Any, site: Any) -> None:
    key = site[0].key
    token = _token(_form(client, key, query="?src=tv-qr"))
    resp = client.post(f"/s/{key}?src=tv-qr", data=_valid(app, site[0], token, src="tv-qr"))
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    code = re.search(r'id="ok-code"[^>]*>([^<]+)<', html).group(1)
    found = tracking.lookup(code, "0912345678")
    assert found is not None and found["status"] == "received"
    from widget_server.store import db
    import sqlalchemy as sa

    with db.read() as conn:
        row = conn.execute(sa.select(db.submissions).where(db.submissions.c.tracking_code == code)).one()
    assert row.src == "tv-qr" and row.via == "page"


def test_nojs_double_post_makes_one_submission(app: Any, client: Any, site: Any) -> None:
    key = site[0].key
    token = _token(_form(client, key))
    first = client.post(f"/s/{key}", data=_valid(app, site[0], token)).get_data(as_text=True)
    second = client.post(f"/s/{key}", data=_valid(app, site[0], token)).get_data(as_text=True)
    pick = re.compile(r'id="ok-code"[^>]*>([^<]+)<')
    assert pick.search(first).group(1) == pick.search(second).group(1)


def test_nojs_errors_rerender_with_summary(app: Any, client: Any, site: Any) -> None:
    key = site[0].key
    token = _token(_form(client, key))
    data = _valid(app, site[0], token, title="", **{"consent.accepted": "", "submitter.phone": ""})
    resp = client.post(f"/w/{key}/form", data=data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="loi"' in html and "autofocus" in html
    assert 'href="#f-title"' in html
    assert re.search(r'id="f-title"[^>]*aria-invalid="true"', html)
    # What was typed is kept.
    assert "Rác thải tồn đọng ở cổng phụ chợ" in html


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"form_token": "ft1.forged"}, "Phiên gửi đã hết hạn hoặc không còn hợp lệ"),
        ({"hp": "http://spam.example"}, "Không gửi được phản ánh"),
    ],
)
def test_nojs_rejects_bots(app: Any, client: Any, site: Any, extra: dict, message: str) -> None:
    key = site[0].key
    token = _token(_form(client, key))
    resp = client.post(f"/s/{key}", data=_valid(app, site[0], token, **extra))
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)


def test_track_nojs(app: Any, client: Any, site: Any) -> None:
    key = site[0].key
    token = _token(_form(client, key))
    html = client.post(f"/s/{key}", data=_valid(app, site[0], token)).get_data(as_text=True)
    code = re.search(r'id="ok-code"[^>]*>([^<]+)<', html).group(1)
    resp = client.post(f"/w/{key}/track", data={"code": code, "contact": "0912345678"})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Đã nhận phản ánh" in page and "Rút lại đồng ý" in page
    miss = client.post(f"/w/{key}/track", data={"code": code, "contact": "0900000000"})
    assert miss.status_code == 404
    assert "Không tìm thấy" in miss.get_data(as_text=True)
    req = client.post(f"/w/{key}/track", data={"code": code, "contact": "0912345678", "op": "data",
                                                "kind": "withdraw_consent"})
    assert "Đã nhận yêu cầu" in req.get_data(as_text=True)
    # Asked before the forward (no worker ran): nothing went to the province, and the page says
    # so instead of promising its answer within 2 working days.
    assert "chưa được chuyển tới hệ thống tỉnh" in req.get_data(as_text=True)
    assert "2 ngày làm việc" not in req.get_data(as_text=True).split("Đã nhận yêu cầu", 1)[1][:300]


def test_a_deactivated_sites_citizens_keep_their_status_page(app: Any, client: Any, site: Any) -> None:
    """The site leaves: its banner, form and public pages stop; the links in its citizens'
    notices (the status page and its QR code) still lead to their answers."""
    from widget_server.intake import sites

    key = site[0].key
    token = _token(_form(client, key))
    html = client.post(f"/s/{key}", data=_valid(app, site[0], token)).get_data(as_text=True)
    code = re.search(r'id="ok-code"[^>]*>([^<]+)<', html).group(1)
    sites.update_site(key, active=False)
    assert client.get(f"/w/{key}/form").status_code == 404
    assert client.get(f"/s/{key}").status_code == 404
    assert client.get(f"/api/v1/sites/{key}/config").status_code == 404
    page = client.get(f"/w/{key}/track?code={code}")
    assert page.status_code == 200 and code in page.get_data(as_text=True)
    found = client.post(f"/w/{key}/track", data={"code": code, "contact": "0912345678"})
    assert found.status_code == 200 and "Đã nhận phản ánh" in found.get_data(as_text=True)
    assert client.post(f"/w/{key}/track", data={"code": code, "contact": "0900000000"}).status_code == 404
    assert client.get(f"/w/{key}/qr.svg?code={code}").status_code == 200
    assert client.get(f"/w/{key}x/track?code={code}").status_code == 404  # still no page for no site


def test_demo_only_in_demo_mode(client: Any) -> None:
    assert client.get("/demo").status_code == 404


def test_demo_page(app_config: dict, tmp_path: Any) -> None:
    from widget_server import create_app
    from widget_server.store import db

    demo = create_app({**app_config, "DEMO": True, "PUBLIC_URL": "http://127.0.0.1:8765"})
    try:
        with demo.app_context():
            resp = demo.test_client().get("/demo")
            assert resp.status_code == 200
            html = resp.get_data(as_text=True)
            assert 'src="http://127.0.0.1:8765/static/widget/loader.js"' in html
            assert "data-phanhoi-slot" in html
            assert "https://" not in html.replace("http://127.0.0.1:8765", "")
            nonce = re.search(r'nonce="([^"]+)"', html).group(1)
            assert f"'nonce-{nonce}'" in resp.headers["Content-Security-Policy"]
            key = re.search(r'data-site="([^"]+)"', html).group(1)
            from widget_server.intake import sites

            assert "http://localhost:8765" in sites.get_site(key).origins
    finally:
        db.get_engine(demo).dispose()


# --- attachments, ALTCHA, theme, English errors, error pages ---------------------------------


def _png(size: tuple[int, int] = (8, 8)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _attachments(tracking_code: str) -> list[Any]:
    import sqlalchemy as sa

    from widget_server.store import db

    with db.read() as conn:
        sub = conn.execute(sa.select(db.submissions.c.id).where(
            db.submissions.c.tracking_code == tracking_code)).scalar_one()
        return conn.execute(sa.select(db.attachments).where(db.attachments.c.submission_id == sub)).all()


def test_form_has_the_file_input(client: Any, site: Any) -> None:
    html = _form(client, site[0].key)
    assert 'enctype="multipart/form-data"' in html
    assert re.search(r'<input id="f-files" name="files" type="file" multiple '
                     r'accept="image/jpeg,image/png,image/webp,application/pdf" data-max="5" data-bytes="10485760"', html)
    assert "Ảnh, tài liệu kèm theo (không bắt buộc)" in html
    assert "căn cước công dân (CCCD)" in html
    assert '<label for="p-files">' in html


def test_nojs_multipart_with_files(app: Any, client: Any, site: Any) -> None:
    import io

    key = site[0].key
    data: dict[str, Any] = _valid(app, site[0], _token(_form(client, key, query="?src=tv-qr")))
    data["files"] = [(io.BytesIO(_png()), "ảnh chợ.png"), (io.BytesIO(b""), "")]
    resp = client.post(f"/s/{key}?src=tv-qr", data=data, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    code = re.search(r'id="ok-code"[^>]*>([^<]+)<', resp.get_data(as_text=True)).group(1)
    files = _attachments(code)
    assert [(f.filename, f.content_type) for f in files] == [("ảnh chợ.png", "image/png")]


def test_nojs_empty_file_input_is_no_attachment(app: Any, client: Any, site: Any) -> None:
    import io

    key = site[0].key
    data: dict[str, Any] = _valid(app, site[0], _token(_form(client, key)))
    data["files"] = (io.BytesIO(b""), "")
    resp = client.post(f"/w/{key}/form", data=data, content_type="multipart/form-data")
    assert resp.status_code == 200
    code = re.search(r'id="ok-code"[^>]*>([^<]+)<', resp.get_data(as_text=True)).group(1)
    assert _attachments(code) == []


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("vi", "Chỉ nhận ảnh JPEG, PNG, WebP hoặc tệp PDF."),
     ("en", "Only JPEG, PNG or WebP photos and PDF documents are accepted.")],
)
def test_nojs_wrong_file_is_a_field_error(app: Any, client: Any, site: Any, lang: str, expected: str) -> None:
    import io

    key = site[0].key
    data: dict[str, Any] = _valid(app, site[0], _token(_form(client, key, query=f"?lang={lang}")))
    data["files"] = (io.BytesIO(b"MZ not a picture"), "anh.png")
    data["lang"] = lang
    resp = client.post(f"/s/{key}?lang={lang}", data=data, content_type="multipart/form-data")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert re.search(r'id="f-files"[^>]*aria-invalid="true"', html)
    assert 'href="#f-files"' in html and expected in html
    assert ("chọn lại tệp" if lang == "vi" else "choose your files again") in html


def test_english_errors_without_javascript(app: Any, client: Any, site: Any) -> None:
    key = site[0].key
    token = _token(_form(client, key, query="?lang=en"))
    data = _valid(app, site[0], token, title="abc", lang="en", **{"submitter.phone": "12345"})
    html = client.post(f"/w/{key}/form?lang=en", data=data).get_data(as_text=True)
    assert "Please give a title of 5 to 200 characters." in html
    assert "Please give a valid phone number" in html
    assert "Số điện thoại" not in html and "Cần từ" not in html


def test_english_catalogue_covers_every_field_and_problem() -> None:
    import json
    from pathlib import Path

    from widget_server import i18n

    en = json.loads((Path(i18n.catalogue_dir()) / "en.json").read_text(encoding="utf-8"))
    from widget_server.web.pages import form

    assert set(form.FIELDS) <= set(en["field_errors"])
    for kind in ("validation-error", "form-token-expired", "altcha-invalid", "altcha-required",
                 "attachment-too-large", "attachment-type-not-allowed", "too-many-attachments", "rate-limited"):
        assert kind in en["problems"]


def _altcha_site() -> Any:
    from widget_server.intake import sites

    return sites.create_site("Đài PT-TH Thanh Hóa", [ORIGIN], altcha=True)[0]


def test_altcha_only_where_turned_on(app: Any, client: Any, site: Any) -> None:
    plain = _form(client, site[0].key)
    # The solver loads with the page only where proof is wanted (form.js loads it if asked later).
    assert '<script src="/static/widget/altcha.' not in plain
    assert "data-altcha-now" not in plain and "<noscript>" not in plain
    assert re.search(r'data-altcha-js="/static/widget/altcha\.[0-9a-f]{10}\.js"', plain)
    on = _altcha_site()
    html = _form(client, on.key)
    assert re.search(r'<script src="/static/widget/altcha\.[0-9a-f]{10}\.js" defer></script>', html)
    assert f'data-altcha="/api/v1/sites/{on.key}/altcha"' in html and " data-altcha-now" in html
    assert "<noscript><p class=\"msg bad\">Trang này cần bật JavaScript" in html


def test_altcha_site_refuses_a_plain_post_plainly(app: Any, client: Any) -> None:
    on = _altcha_site()
    token = _token(_form(client, on.key))
    resp = client.post(f"/s/{on.key}", data=_valid(app, on, token))
    assert resp.status_code == 422
    assert "cần bật JavaScript" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("accent", "css"),
    [
        ("#0b5394", "#0b5394"),
        ("#036", "#003366"),
        ("#00336680", None),  # half transparent over white: too light
        ("#ffcc00", None),  # 1.6:1 against white
        ("#767676", "#767676"),  # 4.54:1, just enough
        ("#777777", None),  # 4.48:1
        ("red", None),
        ("#0b5394;}body{display:none", None),
        ("#12345", None),
    ],
)
def test_theme_accent(app: Any, client: Any, accent: str, css: str | None) -> None:
    from widget_server.intake import sites

    themed = sites.create_site("Báo Thanh Hóa", [ORIGIN], theme={"accent": accent})[0]
    for path in ("/s/{key}", "/w/{key}/form", "/w/{key}/track"):
        resp = client.get(path.format(key=themed.key))
        html = resp.get_data(as_text=True)
        csp = resp.headers["Content-Security-Policy"]
        if css is None:
            assert "<style" not in html and "style-src 'self';" in csp
            continue
        nonce = re.search(r'<style nonce="([^"]+)">:root\{--a:(#[0-9a-f]{6})\}</style>', html)
        assert nonce and nonce.group(2) == css
        assert f"style-src 'self' 'nonce-{nonce.group(1)}';" in csp
        assert "unsafe-inline" not in csp


def test_contrast_ratio() -> None:
    from widget_server.web.pages.theme import contrast_with_white

    assert contrast_with_white("#000") == pytest.approx(21)
    assert contrast_with_white("#fff") == pytest.approx(1)
    assert contrast_with_white("#9b1c1c") > 4.5
    assert contrast_with_white("nope") is None


def _accepted_browser_submission(client: Any, key: str) -> None:
    from tests.helpers import valid_submission
    from widget_server.intake import reference, sites, tokens

    site = sites.get_site(key)
    body = valid_submission()
    body["consent"]["version"] = reference.consent_for(site.name).version
    with client.application.test_request_context():
        token = tokens.issue_form_token(key)
    r = client.post("/api/v1/submissions", json=body, headers={"X-Form-Token": token})
    assert r.status_code == 201, r.get_json()


@pytest.fixture
def limited_client(app_config: dict[str, Any]) -> Any:
    from widget_server import create_app
    from widget_server.store import db

    application = create_app({**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_SUBMIT": "1 per hour",
                              "RATELIMIT_LOOKUP": "1 per hour"})
    with application.app_context():
        yield application.test_client()
    db.get_engine(application).dispose()


@pytest.mark.parametrize(("path", "lang"), [("/s/{key}", "vi"), ("/w/{key}/form", "en"), ("/w/{key}/track", "vi")])
def test_rate_limited_posts_get_a_page(limited_client: Any, path: str, lang: str) -> None:
    from widget_server.intake import sites

    key = sites.create_site("Báo Thanh Hóa", [ORIGIN])[0].key
    # The English form says so in a hidden field, the way a plain form post does.
    url = path.format(key=key) + ("?lang=en" if lang == "en" and "track" in path else "")
    body = {"code": "PH-AAAA-BBBB", "contact": "0912345678", "lang": lang}
    if "track" in path:
        limited_client.post(url, data=body)  # lookups count, found or not
    else:
        _accepted_browser_submission(limited_client, key)  # submissions count when accepted
    resp = limited_client.post(url, data=body)
    assert resp.status_code == 429
    assert resp.mimetype == "text/html"
    assert int(resp.headers["Retry-After"]) > 0
    html = resp.get_data(as_text=True)
    assert '<html lang="vi"' in html and "<h1>Quá nhiều yêu cầu</h1>" in html
    assert ("Too many requests" in html) == (lang == "en")
    assert html.index("Quá nhiều yêu cầu") < html.find("Too many") or lang == "vi"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    # The API keeps answering problem+json.
    api = limited_client.post("/api/v1/submissions", json={}, headers={"X-Form-Token": "x"})
    assert api.mimetype in {"application/problem+json", "application/json"}


def test_too_large_post_gets_a_page(app: Any, client: Any, site: Any) -> None:
    import io

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    app.config.update(MAX_ATTACHMENTS=1, MAX_ATTACHMENT_BYTES=1024)
    key = site[0].key
    data: dict[str, Any] = _valid(app, site[0], _token(_form(client, key)))
    data["files"] = FileStorage(io.BytesIO(b"\0" * 700_000), "to.png")
    # Encoded in memory: the test client would spool a body this big to an unclosed temp file.
    boundary, body = encode_multipart(data)
    resp = client.post(f"/s/{key}", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 413
    assert "Dữ liệu gửi quá lớn" in resp.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/w/{key}/form", "/s/{key}"])
def test_head_gets_the_form_pages_headers(client: Any, site: Any, path: str) -> None:
    """HEAD (a link checker's, a crawler's) answers as GET does, without the body."""
    url = path.format(key=site[0].key)
    got = client.get(url, headers={"Accept-Encoding": "gzip"})
    head = client.head(url, headers={"Accept-Encoding": "gzip"})
    assert head.status_code == got.status_code == 200 and head.data == b""
    for name in ("Content-Type", "Content-Encoding", "Content-Security-Policy", "Cache-Control", "Vary"):
        assert head.headers.get(name) == got.headers.get(name), name
