"""The widget in a real Chromium: news page and relay on different origins."""

from __future__ import annotations

import re
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.widget.conftest import after_rendering

pytestmark = pytest.mark.browser

CONTENT = "Rác thải tồn đọng ở cổng phụ chợ nhiều ngày sau mưa lớn, chưa được thu gom."
PHONE = "0912345678"


def wait_until(target: Any, expression: str, timeout_ms: int = 10000) -> None:
    """Poll a page or frame from here: the pages' strict CSP (no 'unsafe-eval') refuses the
    string predicates Playwright's ``wait_for_function`` evaluates while it polls."""
    page = getattr(target, "page", target)
    for _ in range(timeout_ms // 50):
        if target.evaluate(expression):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {expression}")


def open_form(page: Any) -> Any:
    page.get_by_role("button", name="Gửi phản ánh").click()
    return page.frame_locator("phanhoi-widget iframe.frame-form")


def fill_and_send(frame: Any, *, phone: str = PHONE) -> str:
    fill(frame, phone=phone)
    frame.get_by_role("button", name="Gửi phản ánh").click()
    code = frame.locator("#ok-code")
    expect(code).to_have_text(re.compile(r"\S{6,}"))
    return code.text_content().strip()


def fill(frame: Any, *, phone: str = PHONE) -> None:
    frame.locator("#f-category").select_option(index=1)
    frame.locator("#f-title").fill("Rác thải tồn đọng ở chợ")
    frame.locator("#f-content").fill(CONTENT)
    frame.locator("#f-location-commune_code").select_option(index=1)
    frame.locator("#f-location-address").fill("Cổng phụ chợ, phố Lê Lợi")
    frame.locator("#f-submitter-name").fill("Lê Văn A")
    frame.locator("#f-submitter-phone").fill(phone)
    expect(frame.locator("#f-confidential")).to_be_checked()
    expect(frame.locator("#f-consent-accepted")).not_to_be_checked()
    frame.locator("#f-consent-accepted").check()


def lookup(frame: Any, code: str, contact: str = PHONE) -> None:
    frame.locator("#t-code").fill(code)
    frame.locator("#t-contact").fill(contact)
    frame.get_by_role("button", name="Tra cứu").click()


def test_embed_submit_then_track_and_rate(relay: Any, page: Any, context: Any) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(relay.host_url + "/news")
    banner = page.locator("phanhoi-widget")
    expect(banner.get_by_role("heading", name="Phản ánh, kiến nghị với chính quyền")).to_be_visible()

    # Before the reader acts: only the loader was fetched from the relay (and, once the banner
    # has been in view for a second, the impression beacon), nothing stored.
    beacon = f"{relay.url}/api/v1/sites/{relay.site.key}/beacon"
    relay_requests = [u for u in requests if u.startswith(relay.url) and u != beacon]
    assert relay_requests == [relay.url + "/static/widget/loader.js"]
    assert context.cookies() == []
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0

    code = fill_and_send(open_form(page))
    wait_until(page, "window.__events.some(e => e.indexOf('submitted:') === 0)")
    assert f"submitted:{code}" in page.evaluate("window.__events")
    row = relay.row(code)
    assert row.via == "form"
    assert row.source_url == relay.host_url + "/news"
    assert row.confidential is True or row.confidential == 1

    page.keyboard.press("Escape")
    expect(page.locator("phanhoi-widget dialog")).to_be_hidden()
    # The dialog's "close" event fires as a task after it hides: wait for the callback.
    wait_until(page, "window.__events.indexOf('closed') >= 0")

    relay.answer(code, "Phường đã bố trí thêm xe thu gom; rác đã được dọn sạch.")

    page.get_by_role("button", name="Tra cứu").click()
    track = page.frame_locator("phanhoi-widget iframe.frame-track")
    lookup(track, code)
    expect(track.locator(".st")).to_contain_text("Đã trả lời")
    expect(track.locator(".ans")).to_contain_text("rác đã được dọn sạch")
    expect(track.locator(".tl li")).not_to_have_count(0)

    track.get_by_label("Hài lòng", exact=True).check()
    track.get_by_label("Góp ý thêm (không bắt buộc)").fill("Cảm ơn phường đã xử lý nhanh.")
    track.get_by_role("button", name="Gửi đánh giá").click()
    expect(track.get_by_text("Cảm ơn bạn đã đánh giá.")).to_be_visible()
    assert relay.row(code).rating_satisfied in (True, 1)

    track.get_by_label("Xóa dữ liệu cá nhân của tôi").check()
    track.get_by_role("button", name="Gửi yêu cầu").click()
    expect(track.get_by_text("Đã nhận yêu cầu của bạn", exact=False)).to_be_visible()
    assert relay.row(code).deletion_requested_at is not None
    # What the page says is what happened: a request made before the forward cancelled it.
    cancelled = track.get_by_text("chưa được chuyển tới hệ thống tỉnh", exact=False)
    expect(cancelled).to_have_count(0 if relay.row(code).forwarded_at is not None else 1)
    assert page.page_errors == []


def test_track_command_prefills_code(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    expect(page.locator("phanhoi-widget section")).to_be_visible()
    page.evaluate("PhanHoi('track', 'PH-ABCD-EFGH')")
    track = page.frame_locator("phanhoi-widget iframe.frame-track")
    expect(track.locator("#t-code")).to_have_value("PH-ABCD-EFGH")
    lookup(track, "PH-ABCD-EFGH")
    expect(track.get_by_role("alert")).to_contain_text("Không tìm thấy")
    page.evaluate("PhanHoi('close')")
    expect(page.locator("phanhoi-widget dialog")).to_be_hidden()


def test_a_mistyped_code_is_told_apart_from_a_wrong_contact(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    expect(page.locator("phanhoi-widget section")).to_be_visible()
    page.evaluate("PhanHoi('track')")
    track = page.frame_locator("phanhoi-widget iframe.frame-track")
    lookup(track, "PH-AAAA-AAAAA")  # the check character of AAAAAAAA is T, not A
    expect(track.get_by_role("alert")).to_contain_text("Mã theo dõi có vẻ bị gõ nhầm")
    lookup(track, "PH-AAAA-AAAAT")  # well formed, no such submission
    expect(track.get_by_role("alert")).to_contain_text("Không tìm thấy")
    assert page.page_errors == []


def test_hostile_page(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/hostile")
    host = page.locator("phanhoi-widget")
    heading = host.get_by_role("heading", name="Phản ánh, kiến nghị với chính quyền")
    expect(heading).to_be_visible()
    box = host.bounding_box()
    assert box is not None
    assert box["height"] == pytest.approx(72, abs=1)
    assert box["width"] > 600
    button = host.get_by_role("button", name="Gửi phản ánh")
    bbox = button.bounding_box()
    assert bbox["height"] >= 44 and bbox["width"] >= 44
    # Our px sizes hold although the page set html{font-size:62.5%} and inherited junk.
    style = heading.evaluate(
        "h => { const s = getComputedStyle(h);"
        " return s.fontSize + '|' + s.textTransform + '|' + s.letterSpacing + '|' + s.color; }"
    )
    # (a string, not an array: this page broke Array.prototype.push for everyone)
    assert style == "17px|none|normal|rgb(27, 27, 27)"
    after_rendering(page)
    assert page.evaluate("window.__cls") == 0

    frame = open_form(page)
    expect(page.locator("phanhoi-widget dialog")).to_be_visible()
    code = fill_and_send(frame)
    assert code
    assert page.page_errors == []


@pytest.mark.parametrize(
    ("path", "visible"),
    [
        ("/news", "phanhoi-widget section"),
        ("/noslot", "phanhoi-widget section"),
        ("/button", "phanhoi-widget button.floating-button"),
        ("/twice", "phanhoi-widget section"),
        ("/english", "phanhoi-widget section"),
        ("/pinned", "phanhoi-widget section"),
    ],
)
def test_variants_render_once(relay: Any, page: Any, path: str, visible: str) -> None:
    page.goto(relay.host_url + path)
    expect(page.locator(visible)).to_be_visible()
    # Every async loader on the page has run by the load event (a second copy returns at
    # once, and the banner paints without the network).
    page.wait_for_load_state("load")
    after_rendering(page)
    assert page.locator("phanhoi-widget").count() == 1
    assert page.evaluate("window.__cls") == 0
    assert page.page_errors == []
    if path == "/pinned":
        src = page.locator("script[integrity]").get_attribute("src")
        assert re.search(r"/static/widget/loader\.[0-9a-f]{10}\.js$", src)
    if path == "/english":
        expect(page.get_by_role("button", name="Send feedback")).to_be_visible()
    if path in {"/noslot", "/button"}:
        # The fixed bar sits over an in-flow spacer: the article's last line stays reachable.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        last = page.locator("main p").last.bounding_box()
        bar = page.locator(visible).bounding_box()
        assert last["y"] + last["height"] <= bar["y"]


def test_inline_variant_shows_the_form(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/inline")
    frame = page.frame_locator("phanhoi-widget iframe.frame-form")
    expect(frame.locator("#f-title")).to_be_visible()
    assert fill_and_send(frame)


def test_relay_down_shows_nothing(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news?relay=http://127.0.0.1:9")
    page.wait_for_load_state("load")  # the loader's request has failed by then
    assert page.locator("phanhoi-widget").count() == 0
    assert page.page_errors == []


def test_unregistered_origin_cannot_frame_the_form(relay: Any, page: Any) -> None:
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text):
        page.goto(relay.other_url + "/frame")
    child = page.frame(name="direct")
    assert child is not None
    assert child.locator("#ph-form").count() == 0


def test_registered_origin_can_frame_the_form(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/frame")
    expect(page.frame_locator("#direct").locator("#ph-form")).to_be_attached()


def test_without_javascript(relay: Any, browser: Any) -> None:
    ctx = browser.new_context(java_script_enabled=False)
    try:
        pg = ctx.new_page()
        pg.goto(f"{relay.url}/s/{relay.site.key}?src=tv-qr")
        pg.locator("#f-category").select_option(index=1)
        pg.locator("#f-title").fill("Đèn đường hỏng")
        pg.locator("#f-content").fill("Đèn đường trên đoạn phố này tắt đã hai tuần, buổi tối rất tối.")
        pg.locator("#f-submitter-name").fill("Trần Thị B")
        pg.locator("#f-submitter-email").fill("b@example.vn")
        pg.locator("#f-consent-accepted").check()
        pg.get_by_role("button", name="Gửi phản ánh").click()
        code = pg.locator("#ok-code").text_content().strip()
        assert code
        row = relay.row(code)
        assert row.src == "tv-qr" and row.via == "page"

        # The lookup also works as a plain post.
        pg.get_by_role("link", name="Tra cứu phản ánh").click()
        pg.locator("#t-code").fill(code)
        pg.locator("#t-contact").fill("b@example.vn")
        pg.get_by_role("button", name="Tra cứu").click()
        expect(pg.locator(".st")).to_contain_text("Đã nhận phản ánh")
    finally:
        ctx.close()


def _tab_to(page: Any, frame: Any, element_id: str, limit: int = 40) -> None:
    for _ in range(limit):
        if frame.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"could not reach #{element_id} with Tab")


def test_keyboard_only(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    expect(page.locator("phanhoi-widget section")).to_be_visible()
    for _ in range(10):
        page.keyboard.press("Tab")
        active = page.evaluate(
            "(() => { const r = document.querySelector('phanhoi-widget').shadowRoot;"
            " return r.activeElement && r.activeElement.textContent; })()"
        )
        if active == "Gửi phản ánh":
            break
    else:
        raise AssertionError("the banner button is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("phanhoi-widget dialog")).to_be_visible()
    page.locator("phanhoi-widget iframe.frame-form").wait_for(state="visible")
    frame = page.locator("phanhoi-widget iframe.frame-form").element_handle().content_frame()

    _tab_to(page, frame, "f-category")
    page.keyboard.press("ArrowDown")
    _tab_to(page, frame, "f-title")
    page.keyboard.type("Cây xanh đổ chắn đường")
    _tab_to(page, frame, "f-content")
    page.keyboard.type(CONTENT)
    _tab_to(page, frame, "f-submitter-name")
    page.keyboard.type("Nguyễn Văn C")
    _tab_to(page, frame, "f-submitter-phone")
    page.keyboard.type(PHONE)
    _tab_to(page, frame, "f-consent-accepted")
    page.keyboard.press("Space")
    _tab_to(page, frame, "send")
    page.keyboard.press("Enter")
    expect(frame.locator("#ok-code")).to_have_text(re.compile(r"\S{6,}"))
    assert frame.evaluate("document.activeElement.id") == "ok-h"

    page.keyboard.press("Escape")
    expect(page.locator("phanhoi-widget dialog")).to_be_hidden()
    focused = page.evaluate(
        "document.querySelector('phanhoi-widget').shadowRoot.activeElement.textContent"
    )
    assert focused == "Gửi phản ánh"


def test_keyboard_errors_go_to_the_summary(relay: Any, page: Any) -> None:
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    page.get_by_role("button", name="Gửi phản ánh").click()
    summary = page.locator("#loi")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Vui lòng")
    summary.get_by_role("link").first.click()
    expect(page.locator("#f-category")).to_be_focused()
    expect(page.locator("#f-title")).to_have_attribute("aria-invalid", "true")


def _axe(page: Any, context: Any = None) -> None:
    results = Axe().run(page, context=context, options={"iframes": False, "resultTypes": ["violations"]})
    assert results.violations_count == 0, results.generate_report()


def test_axe_banner_form_and_track(relay: Any, browser: Any) -> None:
    # bypass_csp only lets the test inject axe-core; the widget itself never needs it.
    ctx = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    try:
        pg = ctx.new_page()
        pg.goto(relay.host_url + "/news")
        expect(pg.locator("phanhoi-widget section")).to_be_visible()
        _axe(pg, "phanhoi-widget")

        pg.goto(f"{relay.url}/w/{relay.site.key}/form")
        _axe(pg)
        pg.get_by_role("button", name="Gửi phản ánh").click()
        expect(pg.locator("#loi")).to_be_visible()
        _axe(pg)
        code = fill_and_send(pg)
        _axe(pg)

        relay.answer(code, "Đã xử lý xong.")
        pg.goto(f"{relay.url}/w/{relay.site.key}/track?code={code}")
        _axe(pg)
        lookup(pg, code)
        expect(pg.locator(".ans")).to_be_visible()
        _axe(pg)
    finally:
        ctx.close()


@pytest.mark.parametrize(
    "viewport",
    [
        {"width": 320, "height": 640},
        # 200 % zoom of a 1280 × 900 window is a 640 × 450 CSS-pixel viewport.
        {"width": 640, "height": 450},
    ],
)
def test_reflow(relay: Any, browser: Any, viewport: dict[str, int]) -> None:
    width = viewport["width"]
    ctx = browser.new_context(viewport=viewport)
    try:
        pg = ctx.new_page()
        for path in (f"/w/{relay.site.key}/track", f"/s/{relay.site.key}"):
            pg.goto(relay.url + path)
            assert pg.evaluate("document.documentElement.scrollWidth") <= width
        font = pg.locator("#f-title").evaluate("e => getComputedStyle(e).fontSize")
        assert font == "16px"
        pg.goto(relay.host_url + "/news")
        expect(pg.locator("phanhoi-widget section")).to_be_visible()
        assert pg.evaluate("document.documentElement.scrollWidth") <= width
        frame = open_form(pg)
        expect(frame.locator("#f-title")).to_be_visible()
        inner = pg.locator("phanhoi-widget iframe.frame-form").element_handle().content_frame()
        assert inner.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        ctx.close()


def test_demo_page(app_config: dict[str, Any], browser: Any) -> None:
    from tests.widget.conftest import LiveServer
    from widget_server import create_app
    from widget_server.store import db

    srv = LiveServer("127.0.0.1", "127.0.0.1")
    app = create_app({**app_config, "DEMO": True, "PUBLIC_URL": srv.url})
    srv.app = app
    ctx = browser.new_context()
    try:
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        # The demo follows the README's CSP guidance: nothing of the widget's is refused.
        pg.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation',"
                           " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
        refused: list[str] = []
        pg.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
        beacons: list[str] = []
        pg.on("request", lambda r: beacons.append(r.url) if r.url.endswith("/beacon") else None)
        pg.goto(f"http://localhost:{srv.port}/demo")
        expect(pg.get_by_role("heading", level=1)).to_contain_text("Chợ phường Hạc Thành")
        frame = open_form(pg)
        expect(frame.locator("#f-title")).to_be_visible()
        wait_until(pg, "true")
        assert errors == []
        assert pg.evaluate("window.__csp") == [] and refused == []
        # The "open" beacon went out to the relay (connect-src names it).
        assert [u for u in beacons if u.startswith(srv.url + "/api/v1/sites/")], beacons
    finally:
        ctx.close()
        srv.stop()
        db.get_engine(app).dispose()


def test_relay_down_after_the_banner_painted(relay: Any, page: Any) -> None:
    page.clock.install()
    page.goto(relay.host_url + "/news")
    expect(page.locator("phanhoi-widget section")).to_be_visible()
    page.route(relay.url + "/w/**", lambda route: route.abort())
    page.get_by_role("button", name="Gửi phản ánh").click()
    dialog = page.locator("phanhoi-widget dialog")
    expect(dialog).to_be_visible()
    page.clock.run_for(11_000)
    expect(dialog.get_by_role("status")).to_contain_text("Hiện chưa kết nối được. Vui lòng thử lại sau.")
    expect(page.locator("phanhoi-widget iframe.frame-form")).to_be_hidden()
    dialog.get_by_role("button", name="Đóng").click()
    expect(dialog).to_be_hidden()
    assert page.page_errors == []


def test_a_deletion_asked_before_the_forward_says_nothing_was_sent(relay: Any, page: Any) -> None:
    """Nothing has reached the central system yet (no worker ran): the deletion cancels the
    forward, and the lookup says so rather than promising the province's answer."""
    page.goto(relay.host_url + "/news")
    code = fill_and_send(open_form(page))
    page.keyboard.press("Escape")
    expect(page.locator("phanhoi-widget dialog")).to_be_hidden()
    page.get_by_role("button", name="Tra cứu").click()
    track = page.frame_locator("phanhoi-widget iframe.frame-track")
    lookup(track, code)
    track.get_by_label("Xóa dữ liệu cá nhân của tôi").check()
    track.get_by_role("button", name="Gửi yêu cầu").click()
    expect(track.get_by_text("chưa được chuyển tới hệ thống tỉnh", exact=False)).to_be_visible()
    assert relay.row(code).redacted_at is not None
    assert page.page_errors == []
