"""The public record in a browser: the board pages pass axe, and the results and scoreboard
variants load only when their slot nears the viewport, sized to their content."""

from __future__ import annotations

import json
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from phanhoi.webhooks import sign_headers

pytestmark = pytest.mark.browser

RESULTS = [
    {"result_id": "KQ-1", "title": "Đèn chiếu sáng hỏng trên đại lộ Lê Lợi", "answer": "Đã thay 14 bóng đèn.",
     "question": "Nhiều bóng đèn không sáng.", "category": "ha-tang-ky-thuat", "agency": "so-xd",
     "received_at": "2026-11-01T08:00:00+07:00", "answered_at": "2026-11-08T08:00:00+07:00",
     "deadline": "2026-11-18T23:59:59+07:00"},
    {"result_id": "KQ-2", "title": "Rác thải tồn đọng tại chợ Vườn Hoa", "answer": "Đã thu gom trong ngày.",
     "category": "moi-truong", "agency": "ubnd-xa", "received_at": "2026-10-01T08:00:00+07:00",
     "answered_at": "2026-10-25T08:00:00+07:00", "deadline": "2026-10-18T23:59:59+07:00"},
]


def publish_all(relay: Any) -> None:
    client = relay.app.test_client()
    for n, data in enumerate(RESULTS):
        body = json.dumps({"type": "result.published", "data": data}, ensure_ascii=False).encode()
        headers = sign_headers(body, relay.events_secret, msg_id=f"msg_r{n}")
        r = client.post("/api/v1/central/events", data=body, headers={**headers, "Content-Type": "application/json"})
        assert r.status_code == 200, r.get_data(as_text=True)


def _axe(page: Any) -> None:
    results = Axe().run(page, options={"iframes": False, "resultTypes": ["violations"]})
    assert results.violations_count == 0, results.generate_report()


def test_axe_board_result_and_scoreboard(relay: Any, browser: Any) -> None:
    publish_all(relay)
    # bypass_csp only lets the test inject axe-core; the pages themselves never need it.
    ctx = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    try:
        pg = ctx.new_page()
        key = relay.site.key
        for path in (f"/p/{key}", f"/p/{key}?q=khong+co+gi", f"/p/{key}/KQ-1", f"/p/{key}/scoreboard",
                     f"/p/{key}?lang=en", f"/w/{key}/results", f"/w/{key}/scoreboard", f"/p/{key}/KHONG"):
            pg.goto(relay.url + path)
            _axe(pg)
        pg.set_viewport_size({"width": 360, "height": 740})  # a phone
        pg.goto(f"{relay.url}/p/{key}")
        _axe(pg)
    finally:
        ctx.close()


def _poll(page: Any, check: Any, timeout_ms: int = 10000) -> Any:
    from playwright.sync_api import Error

    for _ in range(timeout_ms // 50):
        try:
            value = check()
        except Error:  # the frame navigated from about:blank to its page meanwhile: look again
            value = None
        if value:
            return value
        page.wait_for_timeout(50)
    raise AssertionError("timed out")


@pytest.mark.parametrize("variant, text", [("results", "Đèn chiếu sáng hỏng"), ("scoreboard", "Sở Xây dựng")])
def test_variant_loads_only_near_the_viewport(relay: Any, page: Any, variant: str, text: str) -> None:
    publish_all(relay)
    asked: list[str] = []
    page.on("request", lambda req: asked.append(req.url))
    page.goto(f"{relay.host_url}/{variant}")
    page.wait_for_load_state("load")
    _poll(page, lambda: page.locator("phanhoi-widget").count())  # the loader ran and painted
    # An observer of our own, made after the loader's, reports once: IntersectionObserver
    # callbacks run in the order the observers were made, so the loader's first look at its
    # slot (out of view, 400 px margin or not) is over when ours has run.
    page.evaluate("""() => new Promise((resolve) => {
      const own = new IntersectionObserver(() => { own.disconnect(); resolve(); });
      own.observe(document.querySelector("phanhoi-widget"));
    })""")
    assert page.locator(f"phanhoi-widget iframe.frame-{variant}").count() == 0
    assert not [u for u in asked if f"/w/{relay.site.key}/{variant}" in u], asked
    page.locator("#after").scroll_into_view_if_needed()
    frame_el = page.locator(f"phanhoi-widget iframe.frame-{variant}")
    _poll(page, lambda: frame_el.count() == 1)
    handle = frame_el.element_handle()
    inner = _poll(page, handle.content_frame)
    _poll(page, lambda: text in (inner.evaluate("document.body ? document.body.innerText : ''")))
    assert frame_el.get_attribute("title")
    # Sized to its content by the page's own "resize" message: no inner scroll bar.
    _poll(page, lambda: abs(handle.bounding_box()["height"]
                            - inner.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")) <= 2)
    body = inner.evaluate("document.documentElement.outerHTML")
    assert "0912345678" not in body
    assert page.page_errors == []  # type: ignore[attr-defined]
