"""The form's attachments, ALTCHA, theme and English errors in a real Chromium."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.widget.test_browser import _axe, fill, fill_and_send
from widget_server.store import db
from widget_server.intake import sites

pytestmark = pytest.mark.browser

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def png(size: tuple[int, int] = (24, 16)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 60)).save(out, "PNG")
    return out.getvalue()


def attachments_of(relay: Any, code: str) -> list[Any]:
    sub = relay.submission_id(code)
    with relay.app.app_context(), db.read() as conn:
        return conn.execute(sa.select(db.attachments).where(db.attachments.c.submission_id == sub)).all()


def new_site(relay: Any, **kwargs: Any) -> sites.Site:
    with relay.app.app_context():
        return sites.create_site("Báo Thanh Hóa", [relay.host_url], **kwargs)[0]


def test_attachments_preview_remove_progress(relay: Any, browser: Any) -> None:
    # bypass_csp only lets the test inject axe-core; the page's own CSP allows blob: thumbnails.
    ctx = browser.new_context(bypass_csp=True)
    try:
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        posts: list[str] = []
        pg.on("request", lambda r: posts.append(r.headers.get("content-type", ""))
              if r.method == "POST" else None)
        pg.goto(f"{relay.url}/w/{relay.site.key}/form")
        fill(pg)
        pg.locator("#f-files").set_input_files([
            {"name": "ảnh-chợ.png", "mimeType": "image/png", "buffer": png()},
            {"name": "biên-bản.pdf", "mimeType": "application/pdf", "buffer": PDF},
        ])
        items = pg.locator("#l-files li")
        expect(items).to_have_count(2)
        expect(items.nth(0).locator("img")).to_have_attribute("src", re.compile(r"^blob:"))
        expect(items.nth(1)).to_contain_text("biên-bản.pdf")
        expect(pg.locator("#s-files")).to_have_text("Đã thêm ảnh-chợ.png, biên-bản.pdf.")
        remove = pg.get_by_role("button", name="Bỏ tệp biên-bản.pdf")
        box = remove.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
        _axe(pg)
        remove.click()
        expect(items).to_have_count(1)
        expect(pg.locator("#s-files")).to_have_text("Đã bỏ tệp biên-bản.pdf.")
        expect(pg.get_by_role("button", name="Bỏ tệp ảnh-chợ.png")).to_be_focused()

        pg.get_by_role("button", name="Gửi phản ánh").click()
        code = pg.locator("#ok-code")
        expect(code).to_have_text(re.compile(r"\S{6,}"))
        assert pg.locator("#p-files").evaluate("p => p.value") == 100
        assert pg.get_by_label("Tiến độ tải lên").count() == 1
        assert any(c.startswith("multipart/form-data") for c in posts)
        files = attachments_of(relay, code.text_content().strip())
        assert [(f.filename, f.content_type) for f in files] == [("ảnh-chợ.png", "image/png")]
        assert errors == []
    finally:
        ctx.close()


@pytest.mark.parametrize(
    ("name", "mime", "data", "message"),
    [
        ("ghi-chú.txt", "text/plain", b"hello", "Tệp “ghi-chú.txt” không phải ảnh JPEG, PNG, WebP hoặc tệp PDF."),
        ("to-qua.png", "image/png", b"\x89PNG" + b"\0" * (1024 * 1024 + 10), "Tệp “to-qua.png” lớn hơn 1 MB."),
    ],
)
def test_wrong_file_is_refused_before_any_request(relay: Any, page: Any, name: str, mime: str,
                                                 data: bytes, message: str) -> None:
    relay.app.config["MAX_ATTACHMENT_BYTES"] = 1024 * 1024
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/api/" in r.url else None)
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    page.locator("#f-files").set_input_files([{"name": name, "mimeType": mime, "buffer": data}])
    expect(page.locator("#e-files")).to_have_text(message)
    expect(page.locator("#loi")).to_contain_text(message)
    expect(page.locator("#f-files")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#l-files li")).to_have_count(0)
    assert sent == []


def test_too_many_files(relay: Any, page: Any) -> None:
    relay.app.config["MAX_ATTACHMENTS"] = 2
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    page.locator("#f-files").set_input_files(
        [{"name": f"anh-{i}.png", "mimeType": "image/png", "buffer": png()} for i in range(3)])
    expect(page.locator("#l-files li")).to_have_count(2)
    expect(page.locator("#e-files")).to_have_text("Chỉ gửi được tối đa 2 tệp; chưa thêm “anh-2.png”.")


def test_server_file_errors_reach_the_summary(relay: Any, page: Any) -> None:
    page.goto(f"{relay.url}/w/{relay.site.key}/form?lang=en")
    fill(page)
    # Declared a PNG, but the bytes are not an image: only the relay can tell.
    page.locator("#f-files").set_input_files([{"name": "fake.png", "mimeType": "image/png", "buffer": b"MZ..."}])
    page.get_by_role("button", name="Send feedback").click()
    expect(page.locator("#loi")).to_be_focused()
    expect(page.locator("#loi")).to_contain_text("Only JPEG, PNG or WebP photos and PDF documents are accepted.")
    expect(page.locator("#e-files")).to_be_visible()


def test_english_page_shows_english_errors(relay: Any, page: Any) -> None:
    page.goto(f"{relay.url}/w/{relay.site.key}/form?lang=en")
    fill(page, phone="12345")
    page.locator("#f-title").fill("abc")
    page.get_by_role("button", name="Send feedback").click()
    summary = page.locator("#loi")
    expect(summary).to_be_focused()
    # Lengths are checked here before sending, in the page's language.
    expect(summary).to_contain_text("At least 5 characters, please (now 3).")
    page.locator("#f-title").fill("Rác thải tồn đọng ở chợ")
    page.get_by_role("button", name="Send feedback").click()
    # The relay's Vietnamese answer, told in English.
    expect(page.locator("#e-submitter-phone")).to_contain_text("Please give a valid phone number")
    assert "Số điện thoại" not in summary.text_content() and "ký tự" not in summary.text_content()


def test_no_altcha_on_ordinary_sites(relay: Any, page: Any) -> None:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    page.wait_for_load_state("load")
    assert not [u for u in urls if "altcha" in u]
    assert page.evaluate("typeof window.PhanHoiAltcha") == "undefined"


def test_altcha_site_solves_in_the_background_and_retries_once(relay: Any, page: Any) -> None:
    relay.app.config["ALTCHA_MAX_NUMBER"] = 3000
    site = new_site(relay, altcha=True)
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    bodies: list[dict[str, Any]] = []
    refused = []

    def first_refused(route: Any) -> None:
        bodies.append(json.loads(route.request.post_data))
        if not refused:
            refused.append(True)
            route.fulfill(status=403, content_type="application/problem+json", body=json.dumps(
                {"type": "https://phanhoi.invalid/problems/altcha-invalid", "status": 403, "title": "x"}))
        else:
            route.continue_()

    page.route(f"{relay.url}/api/v1/submissions", first_refused)
    # The challenge is fetched as soon as the page loads, before the reader does anything.
    with page.expect_request(lambda r: r.url.endswith(f"/api/v1/sites/{site.key}/altcha")):
        page.goto(f"{relay.url}/w/{site.key}/form")
    assert any(u.endswith(f"/api/v1/sites/{site.key}/altcha") for u in urls)
    assert any(re.search(r"/static/widget/altcha\.[0-9a-f]{10}\.js$", u) for u in urls)
    code = fill_and_send(page)
    assert len(bodies) == 2 and all(b.get("altcha") for b in bodies)
    assert bodies[0]["altcha"] != bodies[1]["altcha"]
    assert len([u for u in urls if u.endswith("/altcha")]) == 2
    with relay.app.app_context(), db.read() as conn:
        spent = conn.execute(sa.select(db.altcha_spent)).all()
    assert len(spent) == 1 and spent[0].used_by.startswith("form:")
    assert relay.row(code).via == "form"


def test_altcha_site_without_javascript_says_so(relay: Any, browser: Any) -> None:
    site = new_site(relay, altcha=True)
    ctx = browser.new_context(java_script_enabled=False)
    try:
        pg = ctx.new_page()
        pg.goto(f"{relay.url}/s/{site.key}")
        # (Chromium with scripts switched off still parses <noscript> as text: check its content.)
        assert "Trang này cần bật JavaScript" in pg.locator("noscript").first.text_content()
        fill(pg)
        pg.get_by_role("button", name="Gửi phản ánh").click()
        expect(pg.locator("#loi")).to_contain_text("Trang này cần bật JavaScript để gửi phản ánh")
    finally:
        ctx.close()


def test_theme_accent_on_form_and_track(relay: Any, page: Any) -> None:
    site = new_site(relay, theme={"accent": "#0b5394"})
    page.goto(f"{relay.url}/w/{site.key}/form")
    colour = page.locator("#send").evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(11, 83, 148)"
    page.goto(f"{relay.url}/w/{site.key}/track")
    colour = page.get_by_role("button", name="Tra cứu").evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(11, 83, 148)"
    assert page.page_errors == []


def test_low_contrast_theme_falls_back(relay: Any, page: Any) -> None:
    site = new_site(relay, theme={"accent": "#ffcc00"})
    page.goto(f"{relay.url}/w/{site.key}/form")
    colour = page.locator("#send").evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(155, 28, 28)"


def test_without_javascript_uploads_a_file(relay: Any, browser: Any, tmp_path: Any) -> None:
    photo = tmp_path / "đèn-hỏng.png"
    photo.write_bytes(png())
    ctx = browser.new_context(java_script_enabled=False)
    try:
        pg = ctx.new_page()
        pg.goto(f"{relay.url}/s/{relay.site.key}")
        pg.locator("#f-category").select_option(index=1)
        pg.locator("#f-title").fill("Đèn đường hỏng")
        pg.locator("#f-content").fill("Đèn đường trên đoạn phố này tắt đã hai tuần, buổi tối rất tối.")
        pg.locator("#f-submitter-name").fill("Trần Thị B")
        pg.locator("#f-submitter-email").fill("b@example.vn")
        pg.locator("#f-files").set_input_files(str(photo))
        pg.locator("#f-consent-accepted").check()
        pg.get_by_role("button", name="Gửi phản ánh").click()
        code = pg.locator("#ok-code").text_content().strip()
        files = attachments_of(relay, code)
        assert [(f.filename, f.content_type) for f in files] == [("đèn-hỏng.png", "image/png")]
        assert relay.row(code).via == "page"
    finally:
        ctx.close()


def test_an_ordinary_form_solves_altcha_when_the_relay_asks(relay: Any, page: Any) -> None:
    """A busy address (carrier NAT) is asked for proof of work on any site: the form loads the
    solver then, solves and sends again, and the reader sees the receipt."""
    relay.app.config["ALTCHA_MAX_NUMBER"] = 3000
    site = relay.site
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    bodies: list[dict[str, Any]] = []

    def busy_once(route: Any) -> None:
        bodies.append(json.loads(route.request.post_data))
        if len(bodies) == 1:
            route.fulfill(status=403, content_type="application/problem+json", body=json.dumps(
                {"type": "https://phanhoi.invalid/problems/altcha-required", "status": 403, "title": "x"}))
        else:
            route.continue_()

    page.route(f"{relay.url}/api/v1/submissions", busy_once)
    page.goto(f"{relay.url}/w/{site.key}/form")
    page.wait_for_load_state("load")
    assert not [u for u in urls if "altcha" in u]
    code = fill_and_send(page)
    assert len(bodies) == 2 and "altcha" not in bodies[0] and bodies[1].get("altcha")
    assert any(re.search(r"/static/widget/altcha\.[0-9a-f]{10}\.js$", u) for u in urls)
    assert relay.row(code).via == "form"
