"""What a citizen sees on the form and its answer, in a real Chromium (issue 10, items 7–13)."""

from __future__ import annotations

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
