"""The banner on phones and hostile pages: fallbacks, reserved heights, the bar, the dialog."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# A browser without constructable stylesheets (Safari before 16.4): the init script runs
# before the page's own scripts, so the loader sees the APIs missing.
NO_CONSTRUCTABLE_SHEETS = """
delete CSSStyleSheet.prototype.replaceSync;
delete ShadowRoot.prototype.adoptedStyleSheets;
delete Document.prototype.adoptedStyleSheets;
"""


def test_banner_shows_without_constructable_stylesheets(relay: Any, browser: Any) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(NO_CONSTRUCTABLE_SHEETS)
    try:
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(relay.host_url + "/hostile")
        assert pg.evaluate("typeof CSSStyleSheet.prototype.replaceSync") == "undefined"
        host = pg.locator("phanhoi-widget")
        heading = host.get_by_role("heading", name="Phản ánh, kiến nghị với chính quyền")
        expect(heading).to_be_visible()
        # Styled by the fallback <style> (nonce'd: the page's CSP allows it), not left unstyled.
        assert pg.evaluate("document.querySelector('phanhoi-widget').shadowRoot.querySelector('style') !== null")
        assert heading.evaluate("h => getComputedStyle(h).fontSize") == "17px"
        box = host.bounding_box()
        assert box is not None and box["height"] == pytest.approx(72, abs=1)
        # The dialog works too, and the frame heights go through the same fallback.
        host.get_by_role("button", name="Gửi phản ánh").click()
        frame = pg.frame_locator("phanhoi-widget iframe.frame-form")
        expect(frame.locator("#f-title")).to_be_visible()
        assert errors == []
    finally:
        ctx.close()
