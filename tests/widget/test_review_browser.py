"""What a reader sees on a phone: the success code, the error summary, the answer, the dialog."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.widget.test_browser import PHONE, fill, fill_and_send, open_form

pytestmark = pytest.mark.browser

PHONE_VIEWPORT = {"width": 320, "height": 640}


def _one_line(locator: Any) -> bool:
    return locator.evaluate(
        "e => e.getBoundingClientRect().height < parseFloat(getComputedStyle(e).lineHeight) * 1.5")


def test_tracking_code_stays_on_one_line_on_a_small_phone(relay: Any, browser: Any) -> None:
    ctx = browser.new_context(viewport=PHONE_VIEWPORT)
    try:
        pg = ctx.new_page()
        pg.goto(relay.host_url + "/news")
        code = fill_and_send(open_form(pg))
        frame = pg.frame_locator("phanhoi-widget iframe.frame-form")
        box = frame.locator("#ok-code")
        expect(box).to_have_text(code)
        assert _one_line(box), "the tracking code wraps mid-code at 320px"
        # Still large: at least 20px, the size of a heading.
        assert float(box.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 20
        # The full-page form too.
        pg.goto(f"{relay.url}/s/{relay.site.key}")
        fill(pg)
        pg.get_by_role("button", name="Gửi phản ánh").click()
        expect(pg.locator("#ok-code")).to_have_text(re.compile(r"\S{6,}"))
        assert _one_line(pg.locator("#ok-code"))
    finally:
        ctx.close()


def test_error_summary_names_consent_by_its_title(relay: Any, page: Any) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(relay.host_url + "/news")
    frame = open_form(page)
    expect(frame.locator("#f-title")).to_be_visible()
    frame.get_by_role("button", name="Gửi phản ánh").click()
    summary = frame.locator("#loi")
    expect(summary).to_be_focused()
    link = summary.locator("a[href='#f-consent-accepted']")
    expect(link).to_have_text("Đồng ý xử lý dữ liệu cá nhân: Vui lòng đánh dấu ô đồng ý để gửi phản ánh.")
    # The summary's heading is in view, not scrolled above the dialog's top.
    heading = summary.locator("h2").bounding_box()
    assert heading is not None and heading["y"] >= 0 and heading["y"] + heading["height"] <= 740


def test_answer_has_no_stray_blank_lines(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    code = fill_and_send(open_form(page))
    relay.answer(code, "Dòng một.\nDòng hai.")
    page.goto(f"{relay.url}/w/{relay.site.key}/track?code={code}")
    page.locator("#t-contact").fill(PHONE)
    page.get_by_role("button", name="Tra cứu").click()
    ans = page.locator(".ans")
    expect(ans).to_be_visible()
    # The answer keeps its own line breaks...
    assert ans.locator(".ans-t").evaluate("e => e.getClientRects().length && e.innerText") == "Dòng một.\nDòng hai."
    # ...but the template's indentation adds no empty line above it.
    gap = ans.evaluate("e => e.querySelector('.ans-t').getBoundingClientRect().top - e.getBoundingClientRect().top")
    assert gap <= 16, gap


def test_look_up_from_the_success_screen_opens_the_lookup_view(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    code = fill_and_send(open_form(page))
    form = page.frame_locator("phanhoi-widget iframe.frame-form")
    form.get_by_role("link", name="Tra cứu phản ánh").click()
    dialog = page.locator("phanhoi-widget dialog")
    # The dialog's title says what is in it now, and the lookup has the code filled in.
    expect(dialog.get_by_role("heading", level=2)).to_have_text("Tra cứu phản ánh, kiến nghị")
    track = page.frame_locator("phanhoi-widget iframe.frame-track")
    expect(track.locator("#t-code")).to_have_value(code)
    expect(page.locator("phanhoi-widget iframe.frame-form")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # "Gửi phản ánh" on the banner still leads to the form, not to the lookup.
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(dialog.get_by_role("heading", level=2)).to_have_text("Gửi phản ánh, kiến nghị")
    expect(page.locator("phanhoi-widget iframe.frame-form")).to_be_visible()
    expect(form.locator("#t-code")).to_have_count(0)
    expect(form.get_by_role("link", name="Gửi phản ánh khác")).to_be_visible()
    assert page.page_errors == []


def test_offline_send_keeps_the_draft_and_one_click_sends_once(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    frame = open_form(page)
    fill(frame)
    api = relay.url + "/api/v1/submissions"
    page.route(api, lambda r: r.abort("internetdisconnected"))
    frame.get_by_role("button", name="Gửi phản ánh").click()
    expect(frame.locator("#loi")).to_contain_text("Chưa gửi được do lỗi kết nối")
    expect(frame.locator("#loi")).to_be_focused()
    expect(frame.locator("#send")).to_be_enabled()
    expect(frame.locator("#send")).to_have_text("Gửi phản ánh")
    expect(frame.locator("#f-title")).to_have_value("Rác thải tồn đọng ở chợ")
    page.unroute(api)
    held: list[Any] = []
    page.route(api, lambda r: held.append(r))
    inner = page.locator("phanhoi-widget iframe.frame-form").element_handle().content_frame()
    inner.evaluate("() => { const f = document.getElementById('ph-form'); f.requestSubmit(); f.requestSubmit(); }")
    expect(frame.locator("#send")).to_be_disabled()
    expect(frame.locator("#send")).to_have_text("Đang gửi…")
    # A second submission would have gone out before a request the frame makes after both
    # requestSubmit() calls: once that one is seen, the count is final.
    probed: list[Any] = []
    page.route(relay.url + "/readyz?probe=1", lambda r: (probed.append(r), r.fulfill(status=204)))
    inner.evaluate("() => { fetch('/readyz?probe=1').catch(() => {}); }")
    for _ in range(200):
        if probed:
            break
        page.wait_for_timeout(50)
    assert probed
    assert len(held) == 1
    held[0].continue_()
    expect(frame.locator("#ok-code")).to_be_visible()


@pytest.mark.parametrize(("lang", "words"), [
    ("vi", "Chưa tra cứu được do lỗi kết nối. Vui lòng kiểm tra mạng rồi thử lại."),
    ("en", "Could not look up your feedback because of a connection problem."),
])
def test_offline_lookup_says_lookup_not_send(relay: Any, page: Any, lang: str, words: str) -> None:
    page.goto(f"{relay.url}/w/{relay.site.key}/track?lang={lang}&code=PH-AAAA-BBBBB")
    page.locator("#t-contact").fill(PHONE)
    page.route("**/track*", lambda r: r.abort("internetdisconnected") if r.request.method == "POST" else r.continue_())
    page.locator("#ph-track button[type=submit]").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(words)
    expect(alert).not_to_contain_text("gửi được")
    expect(page.locator("#ph-track button[type=submit]")).to_be_enabled()


def test_dialog_loading_message_fits_the_lookup(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    expect(page.locator("phanhoi-widget section")).to_be_visible()
    page.route(relay.url + "/w/**", lambda route: None)  # the relay is slow: no answer yet
    page.get_by_role("button", name="Tra cứu").click()
    status = page.locator("phanhoi-widget dialog").get_by_role("status")
    expect(status).to_have_text("Đang tải…")


def test_success_copy(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    fill_and_send(open_form(page))
    frame = page.frame_locator("phanhoi-widget iframe.frame-form")
    ok = frame.locator(".ok")
    expect(ok.get_by_role("button", name="Sao chép mã")).to_be_visible()
    expect(ok).to_contain_text("chọn “Tra cứu phản ánh” rồi nhập mã")


def _width(locator: Any) -> float:
    box = locator.bounding_box()
    return box["width"] if box else 0.0


def test_dialog_does_not_repeat_its_title(relay: Any, page: Any) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(relay.host_url + "/news")
    frame = open_form(page)
    dialog = page.locator("phanhoi-widget dialog")
    expect(dialog.get_by_role("heading", level=2)).to_have_text("Gửi phản ánh, kiến nghị")
    # The frame's h1 is for screen readers only: the dialog's title bar already says it.
    h1 = frame.get_by_role("heading", level=1)
    expect(h1).to_have_text("Gửi phản ánh, kiến nghị")
    assert _width(h1) <= 1
    expect(frame.get_by_role("link", name="English")).to_be_visible()
    # Alone on its page, and in the article (inline variant), the h1 is the only title: it shows.
    page.goto(f"{relay.url}/s/{relay.site.key}")
    assert _width(page.get_by_role("heading", level=1)) > 100
    page.goto(relay.host_url + "/inline")
    inline = page.frame_locator("phanhoi-widget iframe.frame-form")
    expect(inline.get_by_role("heading", level=1)).to_be_visible()
    assert _width(inline.get_by_role("heading", level=1)) > 100


def test_inline_form_looks_up_in_place(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/inline")
    frame = page.frame_locator("phanhoi-widget iframe.frame-form")
    fill(frame)
    frame.get_by_role("button", name="Gửi phản ánh").click()
    code = frame.locator("#ok-code").text_content()
    frame.get_by_role("link", name="Tra cứu phản ánh").click()
    expect(frame.locator("#t-code")).to_have_value((code or "").strip())
    expect(frame.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("phanhoi-widget dialog")).to_have_count(0)


def test_keyboard_focus_stays_on_the_answer_after_rating(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    code = fill_and_send(open_form(page))
    relay.answer(code, "Đã xử lý xong.")
    page.goto(f"{relay.url}/w/{relay.site.key}/track?code={code}")
    page.locator("#t-contact").fill(PHONE)
    page.keyboard.press("Enter")
    expect(page.locator(".ans")).to_be_visible()
    page.locator("#r-yes").focus()
    page.keyboard.press("Space")
    page.locator("form[data-api=rating] button[type=submit]").focus()
    page.keyboard.press("Enter")
    thanks = page.locator("form[data-api=rating] .side-s")
    expect(thanks).to_have_text("Cảm ơn bạn đã đánh giá.")
    expect(thanks).to_be_focused()
    page.locator("#d-d").focus()
    page.keyboard.press("Space")
    page.locator("form[data-api=data-request] button[type=submit]").focus()
    page.keyboard.press("Enter")
    done = page.locator("form[data-api=data-request] .side-s")
    expect(done).to_contain_text("Đã nhận yêu cầu của bạn")
    expect(done).to_be_focused()


def test_bar_without_slot_is_one_row_on_a_phone(relay: Any, browser: Any) -> None:
    ctx = browser.new_context(viewport=PHONE_VIEWPORT)
    try:
        pg = ctx.new_page()
        pg.goto(relay.host_url + "/noslot")
        host = pg.locator("phanhoi-widget")
        expect(host.get_by_role("button", name="Gửi phản ánh")).to_be_visible()
        pg.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        sizes = pg.evaluate("""() => {
            const w = document.querySelector('phanhoi-widget').shadowRoot.querySelector('.banner');
            const r = w.getBoundingClientRect();
            const ps = [...document.querySelectorAll('body p')];
            const last = ps[ps.length - 1].getBoundingClientRect();
            const bs = [...w.querySelectorAll('button')].map(b => b.getBoundingClientRect().height);
            return {bar: r.height, top: r.top, last: last.bottom, overflow: w.scrollWidth - w.clientWidth, buttons: bs};
        }""")
        # No taller than its spacer, so the article's last lines are never under it.
        assert sizes["bar"] <= 76, sizes
        assert sizes["last"] <= sizes["top"], sizes
        assert sizes["overflow"] <= 0, sizes
        assert all(44 <= h < 60 for h in sizes["buttons"]), sizes  # one line each, still 44px targets
    finally:
        ctx.close()


def test_floating_button_uses_the_banner_font(relay: Any, page: Any) -> None:
    font = "e => getComputedStyle(e).fontFamily"
    page.goto(relay.host_url + "/news")
    banner = page.locator("phanhoi-widget").get_by_role("button", name="Gửi phản ánh").evaluate(font)
    page.goto(relay.host_url + "/button")
    floating = page.locator("phanhoi-widget").get_by_role("button", name="Phản ánh, kiến nghị").evaluate(font)
    assert floating == banner, (floating, banner)
    assert "serif" not in floating.replace("sans-serif", "")
