"""A reader's submission over a slow, lost or late connection, in a real Chromium: the draft
is kept, nothing is sent twice, and a form left open past its token's life still sends."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import pytest
from playwright.sync_api import expect

from tests.widget.test_browser import fill, fill_and_send
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
