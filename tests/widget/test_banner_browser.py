"""The banner on phones and hostile pages: fallbacks, reserved heights, the bar, the dialog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.widget.conftest import RESERVE_CSS

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


WIDTHS = [320, 360, 375, 390, 414, 600, 768, 820, 1024, 1366]
# Path on the news site → what the reserved slot or the page end must hold.
LAYOUTS = ["/news", "/buttonslot", "/inline", "/noslot", "/button"]
SHADOW = "document.querySelector('phanhoi-widget').shadowRoot"


def wait_until(page: Any, expression: str, timeout_ms: int = 10000) -> Any:
    """Poll from Python: the pages' CSP refuses wait_for_function's string predicates."""
    for _ in range(timeout_ms // 50):
        value = page.evaluate(expression)
        if value:
            return value
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {expression}")


def settled_cls(page: Any) -> float:
    """Layout-shift entries reach the page's observer after the frame that had them: wait two
    frames and one task past the banner's paint, then read the sum."""
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r))))")
    return page.evaluate("window.__cls")


@pytest.mark.parametrize("width", WIDTHS)
def test_no_layout_shift_at_any_width(relay: Any, browser: Any, width: int) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": 800})
    try:
        pg = ctx.new_page()
        figures = {}
        for path in LAYOUTS:
            for lang in ("vi", "en"):
                pg.goto(f"{relay.host_url}{path}?lang={lang}")
                wait_until(pg, f"document.querySelector('phanhoi-widget') && {SHADOW}.querySelector('section,button,iframe')")
                if path == "/inline":
                    # The form frame reports its height and grows: below the fold, moving nothing seen.
                    wait_until(pg, f"{SHADOW}.querySelector('iframe').getBoundingClientRect().height !== 480")
                figures[f"{path}?{lang}"] = cls = settled_cls(pg)
                assert cls == 0, (width, path, lang, cls, pg.evaluate(
                    "(() => { const s = document.querySelector('[data-phanhoi-slot]');"
                    " return s && [s.getBoundingClientRect().height, s.clientWidth,"
                    " getComputedStyle(s, '::before').height, getComputedStyle(s).display]; })()"))
                host = pg.locator("phanhoi-widget").bounding_box()
                if path == "/news":
                    # The documented height function: 120px below a 560px slot, 72px from 560px on.
                    slot_width = pg.evaluate("document.querySelector('[data-phanhoi-slot]').clientWidth")
                    assert host["height"] == (72 if slot_width >= 560 else 120), (width, lang, host)
                    assert pg.evaluate(f"{SHADOW}.querySelector('.banner').scrollWidth") <= host["width"] + 1
                elif path == "/buttonslot":
                    assert host["height"] == 48, (width, lang, host)
        print(f"CLS at {width}px: {figures}")
    finally:
        ctx.close()


def _covered(page: Any, selector: str) -> bool:
    """True when something else is on top of the element's centre (a click would miss it)."""
    return page.evaluate(
        f"(() => {{ const b = document.querySelector('{selector}'); const r = b.getBoundingClientRect();"
        " const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        " return top !== b && !b.contains(top); })()")


@pytest.mark.parametrize("width", [320, 390, 1366])
def test_bar_never_covers_the_hosts_bottom_ui(relay: Any, browser: Any, width: int) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": 740})
    try:
        pg = ctx.new_page()
        pg.goto(relay.host_url + "/cookiebar")
        floating = pg.locator("phanhoi-widget").get_by_role("button", name="Phản ánh, kiến nghị")
        expect(floating).to_be_visible()
        assert not _covered(pg, "#agree")
        pg.locator("#agree").click(timeout=3000)  # a real click: it fails when anything is on top
        # Docked above the cookie notice, not over it.
        notice = pg.locator(".cookies").bounding_box()
        button = floating.bounding_box()
        assert button["y"] + button["height"] <= notice["y"]
        floating.click()
        expect(pg.locator("phanhoi-widget dialog")).to_be_visible()
    finally:
        ctx.close()


def test_bar_can_be_hidden_for_the_page_view(relay: Any, page: Any, context: Any) -> None:
    page.goto(relay.host_url + "/noslot")
    host = page.locator("phanhoi-widget")
    expect(host.get_by_role("button", name="Gửi phản ánh")).to_be_visible()
    host.get_by_role("button", name="Ẩn biểu ngữ phản ánh").click()
    expect(host.get_by_role("button", name="Gửi phản ánh")).to_be_hidden()
    assert host.bounding_box()["height"] == 0  # the spacer goes too
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert context.cookies() == []
    # The API still opens the form.
    page.evaluate("PhanHoi('open')")
    expect(page.frame_locator("phanhoi-widget iframe.frame-form").locator("#f-title")).to_be_visible()
    assert page.page_errors == []


def test_demo_page_does_not_shift(app_config: Any, browser: Any) -> None:
    """The demo's article column: CLS used to show at 560–623 and 801–979 px (iPad portrait)."""
    from tests.widget.conftest import LiveServer
    from widget_server import create_app, db

    srv = LiveServer("127.0.0.1", "127.0.0.1")
    app = create_app({**app_config, "DEMO": True, "PUBLIC_URL": srv.url})
    srv.app = app
    demo_css = (Path(__file__).resolve().parents[2] / "static/widget/demo/demo.css").read_text("utf-8")
    assert RESERVE_CSS.strip() in demo_css  # the demo uses the documented CSS as it is
    ctx = browser.new_context()
    try:
        pg = ctx.new_page()
        # CLS as the demo reader sees it (the demo page has no observer of its own).
        pg.add_init_script("window.__cls = 0; new PerformanceObserver(l => l.getEntries().forEach(e => {"
                           " if (!e.hadRecentInput) window.__cls += e.value; })).observe({type: 'layout-shift',"
                           " buffered: true});")
        for width in [*WIDTHS, 560, 600, 623, 801, 900, 979]:
            pg.set_viewport_size({"width": width, "height": 800})
            pg.goto(f"http://localhost:{srv.port}/demo")
            wait_until(pg, f"document.querySelector('phanhoi-widget') && {SHADOW}.querySelector('section')")
            assert settled_cls(pg) == 0, width
    finally:
        ctx.close()
        srv.stop()
        db.get_engine(app).dispose()
