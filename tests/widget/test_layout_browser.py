"""What a phone shows: the scoreboard at 320 and 360 px, the dialog's title bar, and framed
variants sized exactly to their page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.widget.test_results_browser import _axe, _poll, publish_all

pytestmark = pytest.mark.browser

PHONES = [320, 360]

# Every word in the scoreboard's cells on one line (none broken letter by letter), every cell
# wide enough to read, and nothing wider than the window. Returns the faults found.
READABLE = """() => {
  const faults = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) faults.push(`scrolls sideways: ${root.scrollWidth} > ${root.clientWidth}`);
  for (const cell of document.querySelectorAll(".score th, .score td")) {
    if (!cell.textContent.trim() || !cell.getClientRects().length) continue;
    // Column headers hidden from sight (a phone's cards name each figure) are for screen readers.
    const head = cell.closest("thead");
    if (head && head.getBoundingClientRect().width <= 1) continue;
    const width = cell.getBoundingClientRect().width;
    if (width < 64) faults.push(`${cell.textContent.trim()}: ${Math.round(width)} px wide`);
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const words = /\\S+/g;
      for (let m = words.exec(node.data); m; m = words.exec(node.data)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) faults.push(`"${m[0]}" broken over ${tops.size} lines`);
      }
    }
  }
  return faults;
}"""


@pytest.mark.parametrize("width", PHONES)
def test_scoreboard_page_reads_on_a_phone(relay: Any, browser: Any, width: int) -> None:
    publish_all(relay)
    # bypass_csp only lets the test inject axe-core.
    ctx = browser.new_context(viewport={"width": width, "height": 640}, bypass_csp=True)
    try:
        pg = ctx.new_page()
        pg.goto(f"{relay.url}/p/{relay.site.key}/scoreboard")
        expect(pg.locator(".score").first).to_be_visible()
        assert pg.evaluate(READABLE) == []
        # Each agency's figures keep their column names, for sighted readers and screen readers.
        expect(pg.get_by_role("table").first.get_by_role("columnheader").first).to_be_attached()
        _axe(pg)
    finally:
        ctx.close()


@pytest.mark.parametrize("width", PHONES)
def test_scoreboard_slot_reads_on_a_phone(relay: Any, page: Any, width: int) -> None:
    publish_all(relay)
    page.set_viewport_size({"width": width, "height": 640})
    page.goto(f"{relay.host_url}/scoreboard")
    page.locator("#after").scroll_into_view_if_needed()
    frame_el = page.locator("phanhoi-widget iframe.frame-scoreboard")
    _poll(page, lambda: frame_el.count() == 1)
    inner = _poll(page, frame_el.element_handle().content_frame)
    # Measured once the frame's page has loaded with its stylesheet (a phone's cards): the table
    # is in the document before board.css applies, and its cells are narrow until then.
    _poll(page, lambda: inner.evaluate("document.readyState === 'complete' && !!document.querySelector('.score')"))
    assert inner.evaluate(READABLE) == []
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


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
