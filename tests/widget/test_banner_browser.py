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
    from widget_server import create_app
    from widget_server.store import db

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


class HangingRelay:
    """Accepts connections and never answers: the failure that holds up a page's load event."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[Any] = []
        self.requests = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            self.requests += 1

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def test_documented_snippet_never_holds_up_load(relay: Any, page: Any) -> None:
    hanging = HangingRelay()
    try:
        page.goto(f"{relay.host_url}/afterload?relay={hanging.url}", wait_until="commit")
        # `load` fires although the loader's request is still hanging.
        wait_until(page, "document.readyState === 'complete'", timeout_ms=10000)
        wait_until(page, "document.querySelector('script[data-site]') !== null")
        for _ in range(100):
            if hanging.requests:
                break
            page.wait_for_timeout(50)
        assert hanging.requests >= 1  # the loader was asked for, and is still pending
        assert page.locator("phanhoi-widget").count() == 0
    finally:
        hanging.close()


def test_documented_snippet_shows_the_banner(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/afterload")
    expect(page.locator("phanhoi-widget").get_by_role("button", name="Gửi phản ánh")).to_be_visible()
    assert settled_cls(page) == 0
    page.locator("phanhoi-widget").get_by_role("button", name="Gửi phản ánh").click()
    expect(page.frame_locator("phanhoi-widget iframe.frame-form").locator("#f-title")).to_be_visible()
    assert page.page_errors == []


@pytest.mark.parametrize("width", [320, 390, 414])
def test_dialog_message_shows_on_phones(relay: Any, browser: Any, width: int) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": 740})
    try:
        pg = ctx.new_page()
        pg.goto(relay.host_url + "/news")
        pg.route(relay.url + "/w/**", lambda route: route.abort())
        pg.locator("phanhoi-widget").get_by_role("button", name="Gửi phản ánh").click()
        status = pg.locator("phanhoi-widget dialog").get_by_role("status")
        expect(status).to_be_visible()
        expect(status).to_contain_text("Hiện chưa kết nối được")
        box = status.bounding_box()
        assert box["height"] > 16 and box["width"] > 100
        link = status.get_by_role("link", name="Mở ở trang riêng")
        expect(link).to_be_visible()
        assert link.get_attribute("href").startswith(f"{relay.url}/s/{relay.site.key}")
    finally:
        ctx.close()


def test_unregistered_origin_gets_the_full_page_link_and_a_warning(relay: Any, page: Any) -> None:
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.goto(relay.other_url + "/news")  # the same article on an origin the site did not register
    page.locator("phanhoi-widget").get_by_role("button", name="Gửi phản ánh").click()
    status = page.locator("phanhoi-widget dialog").get_by_role("status")
    # Well before the 10 s a hanging relay gets: the refused frame loads without saying "ready".
    expect(status.get_by_role("link", name="Mở ở trang riêng")).to_be_visible(timeout=5000)
    expect(page.locator("phanhoi-widget iframe.frame-form")).to_be_hidden()
    full_page = status.get_by_role("link").get_attribute("href")
    assert full_page == f"{relay.url}/s/{relay.site.key}?lang=vi"
    assert any(relay.other_url in w and relay.site.key in w and "--origin" in w for w in warnings), warnings
    # The link works where the frame did not: the full page is not framed.
    resp = page.request.get(full_page)
    assert resp.status == 200 and "<form" in resp.text()


@pytest.mark.parametrize(
    ("path", "kept"),
    [("/news?email=a%40b.vn&token=secret", True), ("/noreferrer?email=a%40b.vn", False),
     ("/metanoreferrer?email=a%40b.vn", False)],
)
def test_source_url_is_origin_and_path_and_respects_no_referrer(relay: Any, page: Any, path: str,
                                                                 kept: bool) -> None:
    page.goto(relay.host_url + path)
    page.locator("phanhoi-widget").get_by_role("button", name="Gửi phản ánh").click()
    frame = page.frame_locator("phanhoi-widget iframe.frame-form")
    expect(frame.locator("#f-title")).to_be_visible()
    src = page.locator("phanhoi-widget iframe.frame-form").get_attribute("src")
    assert "email" not in src and "secret" not in src and "a%40b.vn" not in src
    stored = frame.locator("input[name=source_url]")
    if kept:
        expect(stored).to_have_value(relay.host_url + path.split("?")[0])
    else:
        expect(stored).to_have_count(0)
