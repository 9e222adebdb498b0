"""A reader's submission over a slow, lost or late connection, in a real Chromium: the draft
is kept, nothing is sent twice, and a form left open past its token's life still sends."""

from __future__ import annotations

import re
import time
from typing import Any
from unittest import mock

import pytest
from playwright.sync_api import expect

from tests.widget.test_browser import fill, fill_and_send, lookup
from widget_server.intake import tokens

pytestmark = pytest.mark.browser


def old_token(relay: Any, seconds: float) -> str:
    """A form token issued ``seconds`` ago: the page a reader left open that long."""
    with relay.app.app_context(), mock.patch("time.time", return_value=time.time() - seconds):
        return tokens.issue_form_token(relay.site.key)


def test_a_form_open_past_its_token_sends_once_refreshed(relay: Any, page: Any) -> None:
    """The token expired while the reader wrote (2 hours by default): the form fetches a fresh
    one and sends. The relay's fill-time check (3 s by default) must not refuse that fresh token
    as "sent too fast": the reader spent hours on the form, not seconds."""
    relay.app.config["MIN_FILL_SECONDS"] = 3
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    expired = old_token(relay, relay.app.config["FORM_TOKEN_MAX_AGE"] + 60)
    page.locator("input[name=form_token]").evaluate("(e, t) => { e.value = t; }", expired)
    code = fill_and_send(page)
    assert relay.row(code).title == "Rác thải tồn đọng ở chợ"
    expect(page.locator("#loi")).to_be_hidden()


def count_rows(relay: Any) -> int:
    import sqlalchemy as sa

    from widget_server.store import db

    with relay.app.app_context(), db.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(db.submissions)).scalar_one()


def lose_first(seen: list[int]) -> Any:
    """A route handler: the first request reaches the relay and is done there, but its answer
    never reaches the phone (the connection drops on the way back); later ones go through."""

    def handler(route: Any) -> None:
        seen.append(1)
        if len(seen) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    return handler


def lose_first_answer(page: Any, relay: Any) -> list[int]:
    seen: list[int] = []
    page.route(f"{relay.url}/api/v1/submissions", lose_first(seen))
    return seen


def test_an_answer_lost_on_the_way_back_then_send_again(relay: Any, page: Any) -> None:
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    seen = lose_first_answer(page, relay)
    fill(page)
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(page.locator("#loi")).to_contain_text("lỗi kết nối")
    expect(page.locator("#f-content")).to_have_value(re.compile("Rác thải"))
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(page.locator("#ok-code")).to_have_text(re.compile(r"\S{6,}"))
    assert len(seen) == 2 and count_rows(relay) == 1


def test_an_answer_lost_then_the_text_edited_and_sent_again(relay: Any, page: Any) -> None:
    """The first Send was stored but its answer lost; the reader, told it did not go, adds a
    sentence and sends again. They get the receipt of what arrived (not "Idempotency-Key này đã
    được dùng cho một nội dung khác", and no second case), and are told the edit is not in it."""
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    lose_first_answer(page, relay)
    fill(page)
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(page.locator("#loi")).to_contain_text("lỗi kết nối")
    page.locator("#f-content").press_sequentially(" Thêm chi tiết.")
    page.get_by_role("button", name="Gửi phản ánh").click()
    code = page.locator("#ok-code")
    expect(code).to_have_text(re.compile(r"\S{6,}"))
    expect(page.locator(".ok .msg")).to_have_text(re.compile("Phản ánh đã được nhận từ lần gửi trước.*không được gửi kèm"))
    expect(page.locator("#ok-h")).to_be_focused()
    assert count_rows(relay) == 1
    assert "Thêm chi tiết" not in relay.row(code.text_content().strip()).content


def outbox_of(relay: Any, code: str) -> list[tuple[str, str]]:
    import sqlalchemy as sa

    from widget_server.store import db

    o = db.outbox.c
    with relay.app.app_context(), db.read() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(o.event_type, o.state).where(o.submission_id == relay.submission_id(code))
            .order_by(o.created_at)).all()]


@pytest.mark.parametrize("label", ["Xóa dữ liệu cá nhân của tôi", "Rút lại đồng ý xử lý dữ liệu"],
                         ids=["delete", "withdraw_consent"])
def test_a_data_request_whose_answer_was_lost_is_asked_once(relay: Any, page: Any, label: str) -> None:
    """The lookup's "Gửi yêu cầu" reached the relay but its answer was lost; the reader presses
    it again. The second press is the same request (the relay's Idempotency-Key): the reader
    reads the first answer (here: nothing had gone to the province, so nothing will), and no
    second request is queued for the central system about a case it never received."""
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    code = fill_and_send(page)
    page.goto(f"{relay.url}/w/{relay.site.key}/track?code={code}")
    lookup(page, code)
    before = outbox_of(relay, code)
    seen: list[int] = []
    page.route("**/data-request", lose_first(seen))
    form = page.locator("form.side[data-api=data-request]")
    form.get_by_label(label).check()
    form.get_by_role("button", name="Gửi yêu cầu").click()
    expect(form.locator(".side-s")).to_contain_text("lỗi kết nối")
    after_first = outbox_of(relay, code)
    form.get_by_role("button", name="Gửi yêu cầu").click()
    expect(form.locator(".side-s")).to_contain_text("chưa được chuyển tới hệ thống tỉnh")
    assert len(seen) == 2
    assert outbox_of(relay, code) == after_first, (before, after_first)


def test_a_rating_whose_answer_was_lost_is_thanked_when_sent_again(relay: Any, page: Any) -> None:
    """The same for "Gửi đánh giá": the second press is thanked (it was "already rated"), and the
    province is told the rating once."""
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    code = fill_and_send(page)
    relay.answer(code, "Đã thu gom rác.")
    page.goto(f"{relay.url}/w/{relay.site.key}/track?code={code}")
    lookup(page, code)
    seen: list[int] = []
    page.route("**/rating", lose_first(seen))
    form = page.locator("form.side[data-api=rating]")
    form.get_by_label("Hài lòng", exact=True).check()
    form.get_by_role("button", name="Gửi đánh giá").click()
    expect(form.locator(".side-s")).to_contain_text("lỗi kết nối")
    after_first = outbox_of(relay, code)
    form.get_by_role("button", name="Gửi đánh giá").click()
    expect(form.locator(".side-s")).to_have_text("Cảm ơn bạn đã đánh giá.")
    expect(form.get_by_role("button", name="Gửi đánh giá")).to_be_disabled()
    assert len(seen) == 2 and outbox_of(relay, code) == after_first


def test_without_javascript_an_expired_form_says_to_send_again_not_to_reload(relay: Any, browser: Any) -> None:
    """The plain page posted with a token past its life comes back with what was typed and a
    fresh token: pressing Send again is what works. "Tải lại trang" (reload) would post the old
    token again (the browser resends a POST) and fail the same way; a new visit loses the text."""
    expired = old_token(relay, relay.app.config["FORM_TOKEN_MAX_AGE"] + 60)
    ctx = browser.new_context(java_script_enabled=False)
    try:
        pg = ctx.new_page()
        pg.goto(f"{relay.url}/s/{relay.site.key}")

        def stale(route: Any) -> None:
            body = re.sub(rb'(name="form_token"\r\n\r\n)[^\r]*', lambda m: m.group(1) + expired.encode(),
                          route.request.post_data_buffer)
            route.continue_(post_data=body)

        pg.route(f"{relay.url}/s/{relay.site.key}", lambda r: stale(r) if r.request.method == "POST" else r.continue_())
        fill(pg)
        pg.get_by_role("button", name="Gửi phản ánh").click()
        summary = pg.locator("#loi")
        expect(summary).to_contain_text("hết hạn")
        expect(summary).not_to_contain_text("tải lại")
        expect(summary).to_contain_text("Gửi phản ánh")
        expect(pg.locator("#f-content")).to_have_value(re.compile("Rác thải"))
        pg.unroute(f"{relay.url}/s/{relay.site.key}")
        pg.locator("#f-consent-accepted").check()
        pg.get_by_role("button", name="Gửi phản ánh").click()
        expect(pg.locator("#ok-code")).to_have_text(re.compile(r"\S{6,}"))
    finally:
        ctx.close()


def test_back_to_the_sent_form_brings_back_no_text_to_send_twice(relay: Any, page: Any) -> None:
    """The full page (/s/, links and QR codes): the reader sends, opens the lookup from the
    receipt, then goes Back. The page comes back with a fresh token; the browser used to fill in
    what had been sent, so one press on Send made a second case of the same text."""
    page.goto(f"{relay.url}/s/{relay.site.key}")
    fill_and_send(page)
    page.get_by_role("link", name="Tra cứu phản ánh").first.click()
    page.wait_for_url(re.compile("/track"))
    page.go_back()
    expect(page.locator("#f-title")).to_have_value("")
    expect(page.locator("#f-content")).to_have_value("")
    expect(page.locator("#f-consent-accepted")).not_to_be_checked()
    page.get_by_role("button", name="Gửi phản ánh").click()
    expect(page.locator("#loi")).to_contain_text("Vui lòng")
    assert count_rows(relay) == 1


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "plain"])
def test_a_form_token_that_sent_other_text_is_said_in_words(relay: Any, browser: Any, js: bool) -> None:
    """A form post under a token that already carried other text (a page kept from before) is
    refused, one case stays one case, and the reader reads why (not "Idempotency-Key này…")."""
    ctx = browser.new_context(java_script_enabled=js)
    try:
        pg = ctx.new_page()
        pg.goto(f"{relay.url}/s/{relay.site.key}")
        used = pg.locator("input[name=form_token]").get_attribute("value")
        fill_and_send(pg)
        pg.goto(f"{relay.url}/s/{relay.site.key}")

        def reuse(route: Any) -> None:
            body = re.sub(rb'(name="form_token"\r\n\r\n)[^\r]*', lambda m: m.group(1) + used.encode(),
                          route.request.post_data_buffer)
            route.continue_(post_data=body, headers={**route.request.headers, "x-form-token": used})

        pg.route(re.compile(r"/(s/|api/v1/submissions)"),
                 lambda r: reuse(r) if r.request.method == "POST" else r.continue_())
        fill(pg)
        pg.locator("#f-title").fill("Đèn đường hỏng")
        pg.get_by_role("button", name="Gửi phản ánh").click()
        summary = pg.locator("#loi")
        expect(summary).to_contain_text("đã được dùng để gửi một phản ánh có nội dung khác")
        expect(summary).not_to_contain_text("Idempotency")
        assert count_rows(relay) == 1
    finally:
        ctx.close()


def test_a_send_that_hangs_is_given_up_and_can_be_sent_again(relay: Any, page: Any) -> None:
    """A connection that takes the request and never answers (a phone between cells): the
    button stayed "Đang gửi…" for as long as the browser waited, minutes, with no way to try
    again. After a minute the form says the connection failed and Send works again, once."""
    page.clock.install()
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    held: list[Any] = []
    page.route(f"{relay.url}/api/v1/submissions", lambda route: held.append(route))
    fill(page)
    send = page.get_by_role("button", name="Gửi phản ánh")
    send.click()
    expect(page.locator("#send")).to_be_disabled()
    page.clock.run_for(61_000)
    expect(page.locator("#loi")).to_contain_text("lỗi kết nối")
    expect(send).to_be_enabled()
    expect(page.locator("#f-content")).to_have_value(re.compile("Rác thải"))
    page.unroute(f"{relay.url}/api/v1/submissions")
    send.click()
    expect(page.locator("#ok-code")).to_have_text(re.compile(r"\S{6,}"))
    assert len(held) == 1 and count_rows(relay) == 1
