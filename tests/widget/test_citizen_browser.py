"""What a citizen sees on the form and its answer, in a real Chromium (issue 10, items 7–13)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.widget.test_browser import fill

pytestmark = pytest.mark.browser

ERROR_RED = "rgb(179, 38, 30)"  # --e in form.css


def test_fields_with_errors_are_outlined(relay: Any, page: Any) -> None:
    def outline(field: str) -> list[str]:
        return page.locator(field).evaluate(
            "e => { const s = getComputedStyle(e); return [s.borderTopColor, s.borderTopWidth]; }")

    page.goto(f"{relay.url}/s/{relay.site.key}")
    fill(page)
    page.locator("#f-submitter-phone").fill("")
    page.locator("#f-submitter-email").fill("không phải email")
    page.get_by_role("button", name="Gửi phản ánh").click()
    # Only the relay finds this one: the email input (type=email) outlined in red.
    expect(page.locator("#f-submitter-email")).to_have_attribute("aria-invalid", "true")
    assert outline("#f-submitter-email") == [ERROR_RED, "2px"]
    page.locator("#f-submitter-email").fill("")
    page.locator("#f-title").fill("")
    page.locator("#f-content").fill("")
    page.get_by_role("button", name="Gửi phản ánh").click()
    # text and tel inputs and the textarea alike: a red border of 2 px, not the grey one.
    for field in ("#f-title", "#f-submitter-phone", "#f-content"):
        expect(page.locator(field)).to_have_attribute("aria-invalid", "true")
        assert outline(field) == [ERROR_RED, "2px"], field
    plain = page.locator("#f-location-address").evaluate("e => getComputedStyle(e).borderTopColor")
    assert plain != ERROR_RED


def _said(page: Any, selector: str, text: str) -> None:
    """A live region says ``text`` (polled: the filter speaks once typing pauses)."""
    expect(page.locator(selector)).to_have_text(text)


def test_commune_search_with_and_without_diacritics(relay: Any, page: Any) -> None:
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    select = page.locator("#f-location-commune_code")
    search = page.get_by_label("Tìm nhanh xã, phường (gõ có dấu hoặc không dấu)")
    expect(search).to_be_visible()
    assert search.get_attribute("aria-controls") == "f-location-commune_code"
    expect(page.locator("#s-commune")).to_have_attribute("role", "status")
    # The list itself is in Vietnamese order: Đ after D, before E.
    names = select.locator("option").all_text_contents()[1:]
    assert len(names) == 166
    assert names.index("Phường Bỉm Sơn") < names.index("Phường Đào Duy Từ") < names.index("Phường Hạc Thành")
    search.fill("hac thanh")
    expect(select.locator("option")).to_have_count(2)  # "— Chọn —" and the one match
    expect(select).to_have_value("14797")
    _said(page, "#s-commune", "Đã chọn Phường Hạc Thành.")
    search.fill("HẠC THÀNH")
    expect(select).to_have_value("14797")
    search.fill("dong")
    count = select.locator("option").count() - 1
    assert count > 1 and all("đông" in n.lower() or "đồng" in n.lower() or "dong" in n.lower()
                             for n in select.locator("option").all_text_contents()[1:])
    _said(page, "#s-commune", f"Có {count} xã, phường phù hợp trong danh sách.")
    search.fill("zzz")
    _said(page, "#s-commune", "Không có xã, phường nào phù hợp. Xóa bớt chữ để xem lại danh sách.")
    # Enter goes to the list; it does not send the form.
    search.fill("")
    expect(select.locator("option")).to_have_count(167)
    search.press("Enter")
    expect(select).to_be_focused()
    expect(page.locator("#loi")).to_be_hidden()


def test_commune_list_works_without_javascript(relay: Any, browser: Any) -> None:
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(f"{relay.url}/s/{relay.site.key}")
        expect(page.locator("#q-commune")).to_be_hidden()
        expect(page.locator("#f-location-commune_code option")).to_have_count(167)
    finally:
        ctx.close()


def test_limits_said_beside_the_fields_and_nothing_cut(relay: Any, page: Any) -> None:
    page.goto(f"{relay.url}/s/{relay.site.key}")
    expect(page.locator("#h-title")).to_have_text("Từ 5 đến 200 ký tự.")
    expect(page.locator("#h-content")).to_contain_text("Từ 20 đến 5.000 ký tự.")
    assert "h-title" in page.locator("#f-title").get_attribute("aria-describedby")
    fill(page)
    pasted = ("Rác thải tồn đọng ở chợ. " * 800)[:-1] + "!"  # 20,000 characters
    page.locator("#f-content").fill(pasted)
    # Kept whole, and the reader is told at once, in a live region.
    assert page.locator("#f-content").input_value() == pasted
    expect(page.locator("#o-content")).to_have_attribute("role", "status")
    expect(page.locator("#o-content")).to_contain_text("20.000/5.000 ký tự: dài hơn giới hạn 15.000 ký tự.")
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(page.locator("#e-content")).to_have_text("Dài quá 5.000 ký tự (hiện có 20.000). Vui lòng rút gọn.")
    page.locator("#f-content").fill("Ngắn quá")
    expect(page.locator("#o-content")).to_be_hidden()
    page.locator("#f-title").fill("Rác")
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(page.locator("#e-title")).to_have_text("Cần ít nhất 5 ký tự (hiện có 3).")
    expect(page.locator("#e-content")).to_have_text("Cần ít nhất 20 ký tự (hiện có 8).")


def test_success_screen_due_date_lookup_copy_and_qr(relay: Any, browser: Any) -> None:
    import datetime as dt

    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=relay.url)
    try:
        page = ctx.new_page()
        page.goto(f"{relay.url}/s/{relay.site.key}")
        fill(page)
        page.get_by_role("button", name="Gửi phản ánh").click()
        code = page.locator("#ok-code")
        expect(code).to_have_text(re.compile(r"^PH-"))
        row = relay.row(code.text_content().strip())
        due = row.deadline.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7)))
        expect(page.locator("#ok-due")).to_contain_text(f"Hạn trả lời: {due:%d/%m/%Y}")
        expect(page.locator("#ok-due")).to_contain_text("17 ngày kể từ khi gửi")
        expect(page.get_by_role("heading", name="Cách xem kết quả")).to_be_visible()
        page.get_by_role("button", name="Sao chép mã").click()
        expect(page.locator("[data-copied]")).to_have_text("Đã sao chép mã.")
        assert page.evaluate("navigator.clipboard.readText()") == code.text_content().strip()
        qr = page.get_by_role("img", name=f"Mã QR mở trang tra cứu phản ánh {code.text_content().strip()}")
        expect(qr).to_be_visible()
        _decoded(page, qr)
        # The page still says who runs it after the form gives way to the answer.
        expect(page.locator("header.brand")).to_be_visible()
        link = page.get_by_role("link", name="Tra cứu phản ánh")
        expect(link).to_have_attribute("href", re.compile(re.escape(code.text_content().strip())))
    finally:
        ctx.close()


def _decoded(page: Any, img: Any, timeout_ms: int = 15000) -> None:
    """The image has loaded and decoded (visible only means laid out: its box has a size)."""
    for _ in range(timeout_ms // 50):
        if img.evaluate("i => i.complete && i.naturalWidth > 0"):
            return
        page.wait_for_timeout(50)
    raise AssertionError("the image did not load")


def test_success_screen_without_javascript(relay: Any, browser: Any) -> None:
    ctx = browser.new_context(java_script_enabled=False)
    try:
        page = ctx.new_page()
        page.goto(f"{relay.url}/s/{relay.site.key}")
        fill(page)
        page.locator("#f-location-commune_code").select_option(index=1)
        page.get_by_role("button", name="Gửi phản ánh").click()
        expect(page.locator("#ok-code")).to_have_text(re.compile(r"^PH-"))
        expect(page.locator("#ok-due")).to_contain_text(re.compile(r"Hạn trả lời: \d\d/\d\d/20\d\d"))
        qr = page.locator(".qr img")
        expect(qr).to_be_visible()
        _decoded(page, qr)
    finally:
        ctx.close()


def test_full_page_names_the_site_and_the_provincial_system(relay: Any, page: Any) -> None:
    page.goto(f"{relay.url}/s/{relay.site.key}")
    brand = page.locator("header.brand")
    expect(brand).to_contain_text("Báo Thanh Hóa")
    expect(brand).to_contain_text("Phản ánh, kiến nghị được chuyển tới Hệ thống Phản hồi Thanh Hóa")
    # Inside the banner's dialog the host page already says who runs it.
    page.goto(relay.host_url + "/news")
    page.get_by_role("button", name="Gửi phản ánh").click()
    frame = page.frame_locator("phanhoi-widget iframe.frame-form")
    expect(frame.locator("#f-category")).to_be_visible()
    expect(frame.locator("header.brand")).to_have_count(0)


def test_english_page_marks_every_vietnamese_text(relay: Any, page: Any) -> None:
    page.goto(f"{relay.url}/s/{relay.site.key}?lang=en")
    unmarked = page.evaluate("""() => {
      const vi = /[ăâđêôơưĂÂĐÊÔƠƯàáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵ]/;
      const out = [];
      const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        const el = n.parentElement;
        if (!vi.test(n.textContent) || el.closest('script,template,[hidden]')) continue;
        if (el.closest('[lang]').getAttribute('lang') !== 'vi') out.push(n.textContent.trim().slice(0, 60));
      }
      return out;
    }""")
    assert unmarked == []
    # Vietnamese words in the English texts themselves are marked in the catalogue's own way.
    expect(page.locator("html")).to_have_attribute("lang", "en")


@pytest.mark.parametrize("width", [320, 360])
def test_long_agency_names_fit_a_phone(relay: Any, browser: Any, width: int) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": 740}, locale="vi-VN")
    try:
        page = ctx.new_page()
        page.goto(f"{relay.url}/s/{relay.site.key}")
        labels = page.locator("label[for^='f-agency']")
        assert labels.count() == 9
        for i in range(labels.count()):
            box = labels.nth(i).evaluate(
                "l => ({sw: l.scrollWidth, cw: l.clientWidth, text: l.textContent})")
            assert box["sw"] <= box["cw"], box  # wraps, never cut
        expect(page.get_by_text("UBND xã, phường nơi xảy ra vụ việc")).to_be_visible()
    finally:
        ctx.close()


@pytest.mark.parametrize("width", [320, 360])
def test_wrapping_legends_stay_inside_their_box(relay: Any, browser: Any, width: int) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": 740}, locale="vi-VN")
    try:
        page = ctx.new_page()
        page.goto(f"{relay.url}/s/{relay.site.key}")
        # "Đồng ý xử lý dữ liệu cá nhân *" wraps at these widths.
        wraps = page.locator("fieldset > legend").evaluate_all(
            "ls => ls.some(l => l.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(l).lineHeight))")
        assert wraps
        # Every legend lies inside its box, below the top border, however it wraps.
        for fs in page.locator("fieldset").all():
            inside = fs.evaluate("""f => { const l = f.querySelector(':scope > legend');
              const a = f.getBoundingClientRect(), b = l.getBoundingClientRect();
              const t = parseFloat(getComputedStyle(f).borderTopWidth);
              return b.top >= a.top + t && b.left >= a.left && b.right <= a.right; }""")
            assert inside, fs.locator("legend").text_content()
    finally:
        ctx.close()


def test_disabled_rating_button_looks_disabled(relay: Any, page: Any) -> None:
    from tests.widget.test_browser import PHONE, lookup

    page.goto(f"{relay.url}/s/{relay.site.key}")
    fill(page)
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(page.locator("#ok-code")).to_have_text(re.compile(r"^PH-"))
    code = page.locator("#ok-code").text_content().strip()
    relay.answer(code, "Đã thu gom rác.")
    page.goto(f"{relay.url}/w/{relay.site.key}/track")
    lookup(page, code, PHONE)
    send = page.get_by_role("button", name="Gửi đánh giá")
    active = send.evaluate("b => getComputedStyle(b).backgroundColor")
    page.get_by_label("Hài lòng", exact=True).check()
    send.click()
    expect(page.get_by_text("Cảm ơn bạn đã đánh giá.")).to_be_visible()
    expect(send).to_be_disabled()
    # Polled: the busy state (aria-busy) ends a moment after the answer, and with it the spinner look.
    for _ in range(100):
        looks = send.evaluate("b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).cursor]")
        if looks[0] != active and looks[1] == "not-allowed":
            break
        page.wait_for_timeout(50)
    assert looks[0] != active and looks[1] == "not-allowed", looks


def test_floating_button_reaches_the_lookup(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/button")
    page.locator("phanhoi-widget").get_by_role("button").first.click()
    frame = page.frame_locator("phanhoi-widget iframe.frame-form")
    frame.get_by_role("link", name="Tra cứu phản ánh đã gửi").click()
    track = page.frame_locator("phanhoi-widget iframe.frame-track")
    expect(track.locator("#t-code")).to_be_visible()
