"""The reference central system's operator pages on a phone, in Chromium (issue 10, item 14):
nothing scrolls sideways at 320 px; each table row becomes a card with named cells."""

from __future__ import annotations

import re
from typing import Any

import pytest
from phanhoi.webhooks import generate_secret

import central_system
from tests.central_system.test_central_app import created_body, post_signed
from tests.central_system.test_operator_pages import FILES
from tests.widget.conftest import LiveServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [320, 375])
def test_operator_pages_fit_a_phone(tmp_path: Any, browser: Any, width: int) -> None:
    secrets_ = {"intake": generate_secret(), "events": generate_secret()}
    central = central_system.create_app({
        "DATABASE": str(tmp_path / "central.sqlite3"), "SECRET_KEY": "k" * 32,
        "INTAKE_SECRET": secrets_["intake"], "EVENTS_SECRET": secrets_["events"],
        "RELAY_URL": "http://relay.test", "TESTING": True})
    client = central.test_client()
    long_title = "Rác thải tồn đọng ở cổng phụ chợ Vườn Hoa nhiều ngày sau mưa lớn chưa được thu gom"
    for i in range(3):
        post_signed(client, "/intake/v1/submissions",
                    created_body(relay_id=f"sub-{i}", title=long_title, attachments=FILES,
                                 location={"commune_code": "14797", "address": "Cổng chợ"}),
                    secrets_["intake"])
    srv = LiveServer()
    srv.app = central
    ctx = browser.new_context(viewport={"width": width, "height": 700})
    try:
        page = ctx.new_page()
        page.goto(srv.url + "/")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        cell = page.locator("td[data-label='Hạn trả lời']").first
        assert cell.evaluate("c => getComputedStyle(c, '::before').content") == '"Hạn trả lời"'
        page.locator("td a").first.click()
        page.wait_for_url(re.compile(r"/submissions/"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        ctx.close()
        srv.stop()
