"""The console in a real Chromium: sign-in, an editor's view, a key rotation, a dead-row replay,
and the funnel after a scripted reader saw the banner, opened the form and submitted."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.widget.test_browser import _axe, fill_and_send, open_form
from widget_server.accounts import passwords, users
from widget_server.intake import sites
from widget_server.store import db, operations
from widget_server.store.outbox import enqueue

pytestmark = pytest.mark.browser

PASSWORD = "mật-khẩu-đủ-dài-2026"
# A reader's browser: headless Chromium says "HeadlessChrome", which the relay rightly counts as a bot.
READER_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Safari/537.36")


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: Any) -> None:
    monkeypatch.setattr(passwords, "N", 2**12)


@pytest.fixture
def accounts(relay: Any) -> dict[str, Any]:
    with relay.app.app_context():
        other, _ = sites.create_site("Đài Truyền hình", ["https://truyenhinh.example"])
        users.add("quantri@tinh.example", admin=True, password=PASSWORD)
        users.add("bientap@bao.example", site_key=relay.site.key, password=PASSWORD)
    return {"other": other}


def sign_in(page: Any, relay: Any, email: str, password: str = PASSWORD) -> None:
    page.goto(relay.url + "/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


BEACON_LOG = """(() => {
  const send = navigator.sendBeacon.bind(navigator);
  window.__beacons = [];
  navigator.sendBeacon = (url, body) => { window.__beacons.push(String(body)); return send(url, body); };
})()"""


def counter(relay: Any, event: str) -> int:
    with relay.app.app_context(), db.read() as conn:
        t = operations.reach_counters.c
        return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(t["count"]), 0))
                                .where(t.event == event)).scalar_one())


def poll(page: Any, check: Any, timeout_ms: int = 10000) -> None:
    for _ in range(timeout_ms // 100):
        if check():
            return
        page.wait_for_timeout(100)
    raise AssertionError("timed out")


def test_sign_in_wrong_password_then_right(relay: Any, accounts: Any, page: Any) -> None:
    sign_in(page, relay, "quantri@tinh.example", "sai-mat-khau-roi")
    expect(page.get_by_role("alert")).to_contain_text("không đúng")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tổng quan")
    cookie = next(c for c in page.context.cookies() if c["name"] == "phanhoi_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/console"
    page.get_by_role("button", name="Đăng xuất").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Đăng nhập")


def test_an_editor_sees_their_own_site_only(relay: Any, accounts: Any, page: Any) -> None:
    sign_in(page, relay, "bientap@bao.example")
    expect(page.get_by_role("navigation").get_by_role("link", name=re.compile("Chuyển tiếp"))).to_have_count(0)
    page.get_by_role("link", name=re.compile("^Trang")).click()
    expect(page.get_by_role("link", name="Báo Thanh Hóa")).to_be_visible()
    expect(page.get_by_text("Đài Truyền hình")).to_have_count(0)
    response = page.goto(f"{relay.url}/console/sites/{accounts['other'].key}")
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("không được xem")


def test_a_key_rotation_shows_the_new_key_once(relay: Any, accounts: Any, page: Any) -> None:
    sign_in(page, relay, "quantri@tinh.example")
    page.goto(f"{relay.url}/console/sites/{relay.site.key}")
    page.get_by_label("Số ngày khóa cũ còn hiệu lực").select_option("1")
    page.get_by_role("button", name="Đổi khóa").click()
    secret = page.get_by_test_id("secret").input_value()
    # console.js (under script-src 'self') adds a copy button beside the key.
    expect(page.get_by_role("button", name="Chép · Copy")).to_be_visible()
    assert secret.startswith("sk_") and secret != relay.secret_key
    with relay.app.app_context():
        assert sites.site_for_secret(secret).key == relay.site.key
        assert sites.site_for_secret(relay.secret_key).key == relay.site.key  # one more day
    page.get_by_role("link", name=re.compile("Về trang")).click()
    assert secret not in page.content()


def test_a_dead_row_is_replayed(relay: Any, accounts: Any, page: Any) -> None:
    with relay.app.app_context(), db.write() as conn:
        row_id = enqueue(conn, destination="central", event_type="submission.created", data={})
        conn.execute(sa.update(db.outbox).where(db.outbox.c.id == row_id).values(
            state="dead", attempts=20, last_status=502, last_error="central: 502 Bad Gateway"))
    sign_in(page, relay, "quantri@tinh.example")
    page.get_by_role("link", name=re.compile("Chuyển tiếp")).click()
    expect(page.get_by_text("502 Bad Gateway")).to_be_visible()
    page.get_by_role("checkbox").first.check()
    page.get_by_role("button", name=re.compile("Gửi lại các dòng đã chọn")).click()
    expect(page.get_by_role("status")).to_contain_text("1")
    with relay.app.app_context(), db.read() as conn:
        assert conn.execute(sa.select(db.outbox.c.state).where(db.outbox.c.id == row_id)).scalar_one() == "pending"


def test_the_funnel_after_a_reader_saw_opened_and_submitted(relay: Any, accounts: Any, browser: Any,
                                                            page: Any) -> None:
    reader = browser.new_context(user_agent=READER_UA, viewport={"width": 1280, "height": 900}, locale="vi-VN")
    # The page's beacons as the loader hands them to the browser, and a clock the test can run
    # ahead: "no second impression" is then checked after every timer due within 5 s has fired,
    # instead of after a real wait that a slow machine might not cover.
    reader.add_init_script(BEACON_LOG)
    reader.clock.install()
    try:
        news = reader.new_page()
        news.goto(relay.host_url + "/news")
        expect(news.locator("phanhoi-widget section")).to_be_visible()
        poll(news, lambda: counter(relay, "impression") == 1)
        assert counter(relay, "open") == 0
        fill_and_send(open_form(news))
        poll(news, lambda: counter(relay, "open") == 1)
        assert reader.cookies() == []  # the beacons set nothing, read nothing
        news.clock.run_for(5000)
        sent = news.evaluate("window.__beacons.map((body) => JSON.parse(body).e)")
        assert sent.count("impression") == 1, sent  # one impression per page view
        assert counter(relay, "impression") == 1
    finally:
        reader.close()

    sign_in(page, relay, "quantri@tinh.example")
    rows = page.get_by_role("table", name=re.compile("Phễu theo ngày"))
    web = rows.get_by_role("row").filter(has_text="web")
    expect(web).to_have_count(1)
    cells = [c.strip() for c in web.locator("td").all_text_contents()]
    # site, channel, impressions, opens, submissions, answered, on time, satisfied
    assert cells == [relay.site.key, "web", "1", "1", "1", "0", "0", "0"]
    funnel = page.get_by_role("table", name=re.compile("Phễu, số liệu"))
    expect(funnel.get_by_role("row", name=re.compile("Hiển thị"))).to_contain_text("1")
    expect(page.locator("svg.chart")).to_have_count(3)


def test_console_pages_pass_axe_and_fit_a_phone(relay: Any, accounts: Any, browser: Any) -> None:
    # bypass_csp only lets the test inject axe-core; the console itself needs no inline script.
    ctx = browser.new_context(bypass_csp=True, viewport={"width": 375, "height": 740})
    try:
        pg = ctx.new_page()
        pg.goto(relay.url + "/console/sign-in")
        _axe(pg)
        sign_in(pg, relay, "quantri@tinh.example")
        for path in ("/console/", "/console/sites", f"/console/sites/{relay.site.key}", "/console/delivery",
                     "/console/audit"):
            pg.goto(relay.url + path)
            _axe(pg)
            assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    finally:
        ctx.close()
