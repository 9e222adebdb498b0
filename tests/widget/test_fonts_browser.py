"""Larger text (WCAG 1.4.4): with the browser's minimum font size at 24px, as readers with low
vision set it, the banner, the bar, the floating button and the form show their whole text.

The minimum font size is a browser preference, not something a page or a context option can
set: each test starts its own Chromium on a profile whose Preferences carry it, and checks that
it took effect (a 10px text computes to 24px) so it cannot pass without it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.widget.test_banner_browser import SHADOW, wait_until

pytestmark = pytest.mark.browser

MINIMUM = 24
# Chromium's "minimum font size" (chrome://settings/fonts); "logical" applies to all text.
PREFERENCES = {"webkit": {"webprefs": {"minimum_font_size": MINIMUM, "minimum_logical_font_size": MINIMUM}}}

# The size a text of that font-size computes to (10px: the minimum font size is in force;
# "medium": the default font size is).
FONT_SIZES = """(size = "10px") => {
  const probe = document.createElement("span");
  probe.style.fontSize = size;  // CSSOM: the page's CSP allows it
  probe.textContent = "x";
  document.body.append(probe);
  const computed = parseFloat(getComputedStyle(probe).fontSize);
  probe.remove();
  return computed;
}"""

# What is cut, hidden or overlapping in the widget's boxes. Returns the faults found.
WHOLE_TEXT = """(minimum) => {
  const faults = [];
  const root = document.querySelector("phanhoi-widget").shadowRoot;
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const name = (e) => e.className || e.tagName;
  const inside = (r, b) => r.left >= b.left - 1 && r.right <= b.right + 1 && r.top >= b.top - 1 && r.bottom <= b.bottom + 1;
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) faults.push(`page scrolls sideways: ${page.scrollWidth} > ${page.clientWidth}`);
  const boxes = [...root.querySelectorAll(".banner, .floating-button")].filter(shown);
  if (!boxes.length) faults.push("nothing shown");
  for (const box of boxes) {
    const b = box.getBoundingClientRect();
    if (b.left < -1 || b.right > innerWidth + 1) faults.push(`${name(box)} leaves the window: ${b.left}..${b.right}`);
    const parts = box.matches("button") ? [box] : [...box.querySelectorAll(".banner-title, .banner-subtitle, button")].filter(shown);
    if (box !== parts[0] && (box.scrollHeight > box.clientHeight + 1 || box.scrollWidth > box.clientWidth + 1))
      faults.push(`${name(box)} cuts its content: ${box.scrollWidth}x${box.scrollHeight} in ${box.clientWidth}x${box.clientHeight}`);
    for (const part of parts) {
      const label = `${name(part)} "${part.textContent}"`;
      const size = parseFloat(getComputedStyle(part).fontSize);
      if (size < minimum) faults.push(`${label}: ${size}px`);
      if (part.scrollHeight > part.clientHeight + 1 || part.scrollWidth > part.clientWidth + 1)
        faults.push(`${label} cut: ${part.scrollWidth}x${part.scrollHeight} in ${part.clientWidth}x${part.clientHeight}`);
      const range = document.createRange();
      range.selectNodeContents(part);
      const text = range.getBoundingClientRect();
      const p = part.getBoundingClientRect();
      if (!inside(text, p) || !inside(text, b))
        faults.push(`${label} outside its box: text ${JSON.stringify(text)} in ${JSON.stringify(p)}, box ${JSON.stringify(b)}`);
    }
    for (const [i, one] of parts.entries()) {
      for (const other of parts.slice(i + 1)) {
        const r = one.getBoundingClientRect(), s = other.getBoundingClientRect();
        if (r.left < s.right - 1 && s.left < r.right - 1 && r.top < s.bottom - 1 && s.top < r.bottom - 1)
          faults.push(`${name(one)} overlaps ${name(other)}`);
      }
    }
  }
  return faults;
}"""


def _profile_context(browser: Any, folder: Path, preferences: dict[str, Any]) -> Iterator[Any]:
    """A context of its own Chromium whose profile has these font preferences (the session's
    Playwright starts it: two sync Playwright instances cannot be open at once)."""
    profile = folder / "profile"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences), encoding="utf-8")
    ctx = browser.browser_type.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
        viewport={"width": 320, "height": 740}, locale="vi-VN")
    ctx.set_default_timeout(20_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def large_text(browser: Any, tmp_path: Path) -> Iterator[Any]:
    yield from _profile_context(browser, tmp_path, PREFERENCES)


@pytest.fixture
def large_default(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """The default font size at 24px instead: the widget's texts keep their sizes (px, as the
    host page's own px texts do) and their boxes, and stay whole."""
    yield from _profile_context(browser, tmp_path, {"webkit": {"webprefs": {"default_font_size": MINIMUM}}})


WIDTHS = [320, 600, 1024]


@pytest.mark.parametrize("path", ["/news", "/noslot", "/buttonslot", "/button"])
def test_banner_text_is_whole_with_a_large_minimum_font_size(relay: Any, large_text: Any, path: str) -> None:
    pg = large_text.pages[0] if large_text.pages else large_text.new_page()
    for width in WIDTHS:
        pg.set_viewport_size({"width": width, "height": 740})
        for lang in ("vi", "en"):
            pg.goto(f"{relay.host_url}{path}?lang={lang}")
            wait_until(pg, f"document.querySelector('phanhoi-widget') && {SHADOW}.querySelector('section,button')")
            pg.evaluate("document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))")
            assert pg.evaluate(FONT_SIZES) >= MINIMUM  # the preference is in force
            faults = pg.evaluate(WHOLE_TEXT, MINIMUM)
            assert faults == [], (width, path, lang, faults)
            if path == "/noslot":
                # The spacer at the page's end still holds the whole bar: it covers no last line.
                host = pg.locator("phanhoi-widget").bounding_box()
                bar = pg.locator("phanhoi-widget section.banner").bounding_box()
                assert host["height"] >= bar["height"] + 16, (width, lang, host, bar)



@pytest.mark.parametrize("path", ["/news", "/noslot", "/button"])
def test_banner_text_is_whole_with_a_large_default_font_size(relay: Any, large_default: Any, path: str) -> None:
    pg = large_default.pages[0] if large_default.pages else large_default.new_page()
    for width in (320, 1024):
        pg.set_viewport_size({"width": width, "height": 740})
        pg.goto(f"{relay.host_url}{path}")
        wait_until(pg, f"document.querySelector('phanhoi-widget') && {SHADOW}.querySelector('section,button')")
        assert pg.evaluate(FONT_SIZES, "medium") >= MINIMUM  # the preference is in force
        assert pg.evaluate(WHOLE_TEXT, 0) == [], (width, path)
        if path == "/news":
            assert pg.locator("phanhoi-widget").bounding_box()["height"] == (120 if width < 600 else 72)


# Inside the form's frame: no sideways scrolling, no text cut by its box.
FORM_WHOLE = """() => {
  const faults = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) faults.push(`page scrolls sideways: ${page.scrollWidth} > ${page.clientWidth}`);
  // Visually hidden texts (for screen readers, the honeypot) sit in 1px boxes or off the page.
  const unseen = (e) => {
    for (let n = e; n && n !== document.body; n = n.parentElement) {
      const r = n.getBoundingClientRect();
      if (r.width <= 1 || r.height <= 1 || r.right <= 0) return true;
    }
    return false;
  };
  for (const e of document.body.querySelectorAll("*")) {
    if (!e.getClientRects().length || !e.textContent.trim() || ["SCRIPT", "STYLE", "TEXTAREA", "OPTION"].includes(e.tagName)) continue;
    if (unseen(e)) continue;
    const style = getComputedStyle(e);
    if (style.overflowX === "visible" && style.overflowY === "visible") {
      const r = e.getBoundingClientRect();
      if (r.right > page.clientWidth + 1 || r.left < -1) faults.push(`${e.tagName}.${e.className} "${e.textContent.trim().slice(0, 40)}" leaves the page: ${r.left}..${r.right}`);
      continue;
    }
    if (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
      faults.push(`${e.tagName}.${e.className} "${e.textContent.trim().slice(0, 40)}" cut: ${e.scrollWidth}x${e.scrollHeight} in ${e.clientWidth}x${e.clientHeight}`);
  }
  return faults;
}"""


def test_form_and_dialog_are_whole_with_a_large_minimum_font_size(relay: Any, large_text: Any) -> None:
    pg = large_text.pages[0] if large_text.pages else large_text.new_page()
    pg.goto(relay.host_url + "/news")
    host = pg.locator("phanhoi-widget")
    for name, page in (("Gửi phản ánh", "form"), ("Tra cứu", "track")):
        host.get_by_role("button", name=name).click()
        frame_el = pg.locator(f"phanhoi-widget iframe.frame-{page}")
        expect(frame_el).to_be_visible()
        assert pg.evaluate(FONT_SIZES) >= MINIMUM
        # The dialog's title bar: the title wraps, the close button stays whole.
        close = pg.locator("phanhoi-widget dialog").get_by_role("button", name="Đóng")
        assert close.evaluate("b => b.scrollWidth <= b.clientWidth + 1"), close.evaluate("b => [b.scrollWidth, b.clientWidth]")
        title = pg.locator("phanhoi-widget dialog h2")
        assert title.evaluate("h => h.scrollWidth <= h.clientWidth + 1 && h.scrollHeight <= h.clientHeight + 1")
        inner = frame_el.element_handle().content_frame()
        assert inner is not None
        wait_until(inner, "document.readyState === 'complete'")
        faults = inner.evaluate(FORM_WHOLE)
        assert faults == [], (page, faults)
        close.click()
        expect(pg.locator("phanhoi-widget dialog")).to_be_hidden()
