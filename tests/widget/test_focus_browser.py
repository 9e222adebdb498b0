"""Where keyboard focus lands when the banner's dialog shows the relay's page (WCAG 2.4.3, 2.4.7).

The loader focuses the iframe; the framed page then puts focus on its first meaningful
field, with a visible focus ring, and only then: not on the full page, not inline.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.widget.conftest import after_pending_timers
from tests.widget.test_browser import _tab_to, wait_until

pytestmark = pytest.mark.browser

BANNER = "(() => { const r = document.querySelector('phanhoi-widget').shadowRoot;" \
         " return r.activeElement && r.activeElement.textContent; })()"
# The element focused inside the frame, its computed outline, and whether the frame has focus.
FOCUSED = ("(() => { const a = document.activeElement;"
           " return {id: a && a.id, tag: a && a.tagName, outline: getComputedStyle(a).outlineStyle,"
           " width: getComputedStyle(a).outlineWidth, has: document.hasFocus()}; })()")


def _press_banner_button(page: Any, name: str) -> None:
    expect(page.locator("phanhoi-widget section")).to_be_visible()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate(BANNER) == name:
            break
    else:
        raise AssertionError(f"the banner button {name!r} is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("phanhoi-widget dialog")).to_be_visible()


def _frame(page: Any, page_name: str) -> Any:
    selector = f"phanhoi-widget iframe.frame-{page_name}"
    page.locator(selector).wait_for(state="visible")
    return page.locator(selector).element_handle().content_frame()


def _focused(frame: Any, element_id: str) -> dict[str, Any]:
    wait_until(frame, f"document.activeElement && document.activeElement.id === {element_id!r}")
    info = frame.evaluate(FOCUSED)
    assert info["has"], "the frame's document does not have the keyboard focus"
    return info


def _assert_ring(info: dict[str, Any]) -> None:
    assert info["outline"] != "none", info
    assert info["width"] not in ("0px", ""), info


def test_keyboard_open_form_focuses_first_field(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    _press_banner_button(page, "Gửi phản ánh")
    frame = _frame(page, "form")
    info = _focused(frame, "f-category")
    assert info["tag"] == "SELECT"
    _assert_ring(info)
    # The next Tab goes on through the form, in order.
    page.keyboard.press("Tab")
    assert frame.evaluate("document.activeElement.id") == "f-agency"
    assert page.page_errors == []


def test_keyboard_open_lookup_focuses_code_field(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    _press_banner_button(page, "Tra cứu")
    frame = _frame(page, "track")
    info = _focused(frame, "t-code")
    _assert_ring(info)
    assert page.page_errors == []


def test_lookup_opened_with_code_focuses_contact_field(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    expect(page.locator("phanhoi-widget section")).to_be_visible()
    # Keyboard first, as a reader would have been on the page, then the host's own call.
    page.keyboard.press("Tab")
    page.evaluate("PhanHoi('track', 'PH-ABCD-EFGH')")
    frame = _frame(page, "track")
    assert frame.evaluate("document.getElementById('t-code').value") == "PH-ABCD-EFGH"
    info = _focused(frame, "t-contact")
    _assert_ring(info)
    assert page.page_errors == []


def test_reopened_dialog_focuses_a_visible_element(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    _press_banner_button(page, "Gửi phản ánh")
    frame = _frame(page, "form")
    _focused(frame, "f-category")
    _tab_to(page, frame, "f-title")
    page.keyboard.press("Escape")
    expect(page.locator("phanhoi-widget dialog")).to_be_hidden()
    assert page.evaluate(BANNER) == "Gửi phản ánh"
    page.keyboard.press("Enter")
    expect(page.locator("phanhoi-widget dialog")).to_be_visible()
    # Back where the reader left off, or at the first field: never on nothing.
    wait_until(frame, "document.hasFocus() && document.activeElement !== document.body")
    _assert_ring(frame.evaluate(FOCUSED))


def test_tab_into_frame_is_not_overridden(relay: Any, page: Any) -> None:
    """Focus that arrives by Tab (from the dialog's Close button) stays where Tab put it."""
    page.goto(relay.host_url + "/news")
    _press_banner_button(page, "Gửi phản ánh")
    frame = _frame(page, "form")
    _focused(frame, "f-category")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    # Now on the Close button in the host's dialog (or the frame's language link before it).
    for _ in range(4):
        if page.evaluate(BANNER) == "Đóng":
            break
        page.keyboard.press("Shift+Tab")
    assert page.evaluate(BANNER) == "Đóng"
    page.keyboard.press("Tab")
    after_pending_timers(frame)  # the frame's focus handler defers its move by one timer
    assert frame.evaluate("document.activeElement.className") == "lang"


def test_no_focus_move_inline_or_full_page(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/inline")
    frame_loc = page.frame_locator("phanhoi-widget iframe.frame-form")
    expect(frame_loc.locator("#f-title")).to_be_visible()
    frame = page.locator("phanhoi-widget iframe.frame-form").element_handle().content_frame()
    page.locator("phanhoi-widget iframe.frame-form").focus()
    after_pending_timers(frame)
    assert frame.evaluate("document.activeElement === document.body")

    page.goto(f"{relay.url}/s/{relay.site.key}")
    expect(page.locator("#f-category")).to_be_visible()
    after_pending_timers(page)
    assert page.evaluate("document.activeElement === document.body")
