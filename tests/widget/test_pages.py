"""Form, status and demo pages over HTTP (no browser): headers, no-JS posts, errors."""

from __future__ import annotations

import re
from typing import Any

import pytest

from widget_server import reference, submissions

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
    found = submissions.lookup(code, "0912345678")
    assert found is not None and found["status"] == "received"
    from widget_server import db
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
        ({"form_token": "ft1.forged"}, "Phiên gửi không hợp lệ"),
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
    assert "Đã tiếp nhận" in page and "Rút lại đồng ý" in page
    miss = client.post(f"/w/{key}/track", data={"code": code, "contact": "0900000000"})
    assert miss.status_code == 404
    assert "Không tìm thấy" in miss.get_data(as_text=True)
    req = client.post(f"/w/{key}/track", data={"code": code, "contact": "0912345678", "op": "data",
                                                "kind": "withdraw_consent"})
    assert "Đã nhận yêu cầu" in req.get_data(as_text=True)


def test_demo_only_in_demo_mode(client: Any) -> None:
    assert client.get("/demo").status_code == 404


def test_demo_page(app_config: dict, tmp_path: Any) -> None:
    from widget_server import create_app, db

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
            from widget_server import sites

            assert "http://localhost:8765" in sites.get_site(key).origins
    finally:
        db.get_engine(demo).dispose()
