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
        frame = pg.frame_locator("phanhoi-widget iframe.f-form")
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
    form = page.frame_locator("phanhoi-widget iframe.f-form")
    form.get_by_role("link", name="Tra cứu phản ánh").click()
    dialog = page.locator("phanhoi-widget dialog")
    # The dialog's title says what is in it now, and the lookup has the code filled in.
    expect(dialog.get_by_role("heading", level=2)).to_have_text("Tra cứu phản ánh, kiến nghị")
    track = page.frame_locator("phanhoi-widget iframe.f-track")
    expect(track.locator("#t-code")).to_have_value(code)
    expect(page.locator("phanhoi-widget iframe.f-form")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # "Gửi phản ánh" on the banner still leads to the form, not to the lookup.
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(dialog.get_by_role("heading", level=2)).to_have_text("Gửi phản ánh, kiến nghị")
    expect(page.locator("phanhoi-widget iframe.f-form")).to_be_visible()
    expect(form.locator("#t-code")).to_have_count(0)
    expect(form.get_by_role("link", name="Gửi phản ánh khác")).to_be_visible()
    assert page.page_errors == []
