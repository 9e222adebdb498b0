"""What a phone shows: the dialog's title bar, and framed variants sized exactly to their page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.widget.test_results_browser import _poll, publish_all

pytestmark = pytest.mark.browser

PHONES = [320, 360]


@pytest.mark.parametrize("variant", ["results", "scoreboard", "inline"])
def test_framed_variants_do_not_scroll_inside(relay: Any, page: Any, variant: str) -> None:
    """The frame is as tall as its page says (its "resize" message): not 2 px short."""
    publish_all(relay)
    page.goto(f"{relay.host_url}/{variant}")
    page.locator("phanhoi-widget").scroll_into_view_if_needed()
    cls = "form" if variant == "inline" else variant
    frame_el = page.locator(f"phanhoi-widget iframe.frame-{cls}")
    _poll(page, lambda: frame_el.count() == 1)
    handle = frame_el.element_handle()
    inner = _poll(page, handle.content_frame)
    _poll(page, lambda: inner.evaluate("document.readyState === 'complete'"))
    # Sized by the page's own message: the frame's box is then what the page reported.
    _poll(page, lambda: handle.bounding_box()["height"] > 200)
    page.wait_for_timeout(300)
    sizes = inner.evaluate("[document.documentElement.scrollHeight, document.documentElement.clientHeight]")
    assert sizes[0] == sizes[1], sizes


@pytest.mark.parametrize("width", PHONES)
def test_dialog_close_button_is_whole(relay: Any, page: Any, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 640})
    page.goto(relay.host_url + "/news")
    banner = page.locator("phanhoi-widget")
    for button in ("Gửi phản ánh", "Tra cứu"):
        banner.get_by_role("button", name=button).click()
        close = page.locator("phanhoi-widget dialog").get_by_role("button", name="Đóng")
        expect(close).to_be_visible()
        assert close.evaluate("b => b.scrollWidth <= b.clientWidth"), close.evaluate("b => [b.scrollWidth, b.clientWidth]")
        assert close.evaluate("b => b.getBoundingClientRect().width") >= 44
        title = page.locator("phanhoi-widget dialog h2")
        assert title.evaluate("h => h.scrollWidth <= h.clientWidth")
        close.click()
        expect(page.locator("phanhoi-widget dialog")).to_be_hidden()
