"""The choice and the withdrawal in a real Chromium, and a notice's link opening the lookup."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.widget.test_browser import _axe, fill, lookup, open_form
from widget_server.store import db
from widget_server.store.notices import notify_requests

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SMTP_URL": "smtp://127.0.0.1:2525", "SMS_URL": "http://127.0.0.1:9/messages"}


def _request(relay: Any, code: str) -> Any:
    with relay.app.app_context(), db.read() as conn:
        return conn.execute(sa.select(notify_requests).where(
            notify_requests.c.submission_id == relay.submission_id(code))).one()


def _notices(relay: Any) -> list[Any]:
    with relay.app.app_context(), db.read() as conn:
        return conn.execute(sa.select(db.outbox.c.state).where(db.outbox.c.destination.like("notify-%"))).all()


def test_ask_by_sms_then_withdraw_from_the_link_in_the_notice(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    form = open_form(page)
    fill(form)
    box = form.get_by_label("Báo cho tôi khi có trả lời")
    expect(box).not_to_be_checked()
    expect(form.locator("#h-notify")).to_contain_text("không kèm nội dung trả lời")
    box.check()
    expect(form.get_by_label("Qua email")).to_be_checked()
    form.get_by_role("button", name="Gửi phản ánh").click()
    # Email chosen, none given: said before anything is sent.
    expect(form.locator("#e-submitter-email")).to_have_text("Vui lòng nhập email để nhận thông báo.")
    form.get_by_label("Qua tin nhắn SMS").check()
    form.get_by_role("button", name="Gửi phản ánh").click()
    code = form.locator("#ok-code")
    expect(code).not_to_be_empty()
    code = code.text_content().strip()
    row = _request(relay, code)
    assert (row.channel, row.contact) == ("sms", "+84912345678")

    relay.answer(code, "Phường đã bố trí thêm xe thu gom.")
    assert [n.state for n in _notices(relay)] == ["pending"]

    # The link a notice carries: the article, with the lookup opened and the code filled in.
    page.goto("about:blank")  # a fresh load, as when the link is opened from a mail or an SMS
    page.goto(f"{relay.host_url}/news#phanhoi-track={code}")
    track = page.frame_locator("phanhoi-widget iframe.frame-track")
    expect(track.locator("#t-code")).to_have_value(code)
    lookup(track, code)
    expect(track.locator("#kq")).to_contain_text("Bạn đã yêu cầu được báo tin khi có trả lời (Qua tin nhắn SMS).")
    track.get_by_label("Ngừng báo tin khi có trả lời", exact=False).check()
    track.get_by_role("button", name="Gửi yêu cầu").click()
    expect(track.get_by_text("Đã ngừng báo tin cho bạn", exact=False)).to_be_visible()
    row = _request(relay, code)
    assert row.contact is None and row.withdrawn_at is not None
    assert [n.state for n in _notices(relay)] == ["cancelled"]
    assert page.page_errors == []


def test_the_full_page_form_with_the_choice_passes_axe(relay: Any, page: Any) -> None:
    page.goto(f"{relay.url}/s/{relay.site.key}")
    page.get_by_label("Báo cho tôi khi có trả lời").check()
    _axe(page)
