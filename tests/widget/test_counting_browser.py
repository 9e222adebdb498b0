"""The form counts text as the relay does (NFC code points, trimmed), whatever the keyboard
produced: Vietnamese typed or pasted decomposed (Unikey's "Unicode tổ hợp", macOS) and emoji.
Nothing is cut: a field without maxlength keeps a paste whole, and the limits are checked."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.widget.conftest import after_pending_timers
from tests.widget.test_browser import fill, open_form

pytestmark = pytest.mark.browser

SENTENCE = "Đường Lê Lợi ngập nặng sau mưa, rác thải tồn đọng ở cổng chợ phường Hạc Thành nhiều ngày. "


def vi_text(n: int) -> str:
    """NFC Vietnamese of exactly n code points, with nothing the relay would trim or collapse."""
    text = (SENTENCE * (n // len(SENTENCE) + 2))[: n - 1].rstrip() + "ộ"
    return text + "ệ" * (n - len(text))


def nfd(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    assert len(decomposed) > len(text)
    return decomposed


def form_in(relay: Any, page: Any, where: str) -> Any:
    if where == "dialog":
        page.goto(relay.host_url + "/news")
        return open_form(page)
    page.goto(f"{relay.url}/s/{relay.site.key}")
    return page


@pytest.mark.parametrize("where", ["dialog", "page"])
def test_decomposed_text_near_the_limits_is_counted_and_sent_whole(relay: Any, page: Any, where: str) -> None:
    form = form_in(relay, page, where)
    fill(form)
    content, title = vi_text(4399), vi_text(195)
    address, name = vi_text(290), "Nguyễn Thị Hồng Nhung " + vi_text(70)
    form.locator("#f-content").fill(nfd(content))
    form.locator("#f-title").fill(nfd(title))
    form.locator("#f-location-address").fill(nfd(address))
    form.locator("#f-submitter-name").fill(nfd(name))
    # The browser kept the decomposed text (more UTF-16 units than the limits) and cut nothing.
    assert form.locator("#f-content").evaluate("e => e.value.length") > 5000
    assert form.locator("#f-location-address").evaluate("e => e.value.length") > 300
    assert unicodedata.normalize("NFC", form.locator("#f-location-address").input_value()) == address
    assert unicodedata.normalize("NFC", form.locator("#f-submitter-name").input_value()) == name
    expect(form.locator("#c-content")).to_have_text("4.399/5.000 ký tự")
    expect(form.locator("#c-content")).not_to_have_class(re.compile(r"\bbad\b"))
    form.get_by_role("button", name="Gửi phản ánh").click()
    code = form.locator("#ok-code")
    expect(code).to_have_text(re.compile(r"\S{6,}"))
    row = relay.row(code.text_content().strip())
    assert (row.content, row.title, row.address) == (content, title, address)


@pytest.mark.parametrize("where", ["dialog", "page"])
def test_emoji_count_once_and_over_the_limit_is_said_not_cut(relay: Any, page: Any, where: str) -> None:
    form = form_in(relay, page, where)
    fill(form)
    ta = form.locator("#f-content")
    ta.fill("Cống thoát nước bốc mùi 🤢🤢🤢 suốt tuần 👍")
    expect(form.locator("#c-content")).to_have_text("39/5.000 ký tự")  # 43 UTF-16 units
    over = vi_text(5001)
    ta.fill(nfd(over))
    expect(form.locator("#c-content")).to_have_text("5.001/5.000 ký tự")
    address = vi_text(301)
    form.locator("#f-location-address").fill(nfd(address))
    form.get_by_role("button", name="Gửi phản ánh").click()
    summary = form.locator("#loi")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Dài quá 5.000 ký tự (hiện có 5.001)")
    expect(summary).to_contain_text("Dài quá 300 ký tự (hiện có 301)")
    # What the reader pasted is all still there.
    assert unicodedata.normalize("NFC", ta.input_value()) == over
    assert unicodedata.normalize("NFC", form.locator("#f-location-address").input_value()) == address


def test_escape_in_the_commune_search_clears_it_and_keeps_the_dialog(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/news")
    form = open_form(page)
    search = form.locator("#q-commune")
    search.fill("hac thanh")
    search.press("Escape")
    expect(search).to_have_value("")
    # The filter was undone with it: every commune is back in the list.
    assert form.locator("#f-location-commune_code option").count() > 2
    dialog = page.locator("phanhoi-widget dialog")
    page.wait_for_timeout(300)
    expect(dialog).to_be_visible()
    # An empty search field: Escape closes the dialog, as anywhere else in the form.
    search.press("Escape")
    expect(dialog).to_be_hidden()


def test_rating_comment_pasted_decomposed_is_kept_whole(relay: Any, page: Any) -> None:
    from tests.widget.test_browser import fill_and_send, lookup

    page.goto(f"{relay.url}/s/{relay.site.key}")
    code = fill_and_send(page)
    relay.answer(code, "Phường đã bố trí thêm xe thu gom.")
    page.goto(f"{relay.url}/w/{relay.site.key}/track")
    lookup(page, code)
    page.get_by_label("Hài lòng", exact=True).check()
    box = page.get_by_label("Góp ý thêm (không bắt buộc)")
    box.fill(nfd(vi_text(1001)))
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.locator(".side-s").first).to_contain_text("Dài quá 1.000 ký tự (hiện có 1.001)")
    comment = vi_text(990)
    box.fill(nfd(comment))
    assert box.evaluate("e => e.value.length") > 1000  # nothing cut by the browser
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.get_by_text("Cảm ơn bạn đã đánh giá.")).to_be_visible()
    assert relay.row(code).rating_comment == comment


def ime_key(ime: Any, key: str) -> None:
    """A key pressed while an IME composes: the browser gets it as key code 229, the IME's."""
    for kind in ("keyDown", "keyUp"):
        ime.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": 229})


def test_enter_and_escape_that_end_an_ime_composition_stay_in_the_form(relay: Any, page: Any,
                                                                                  context: Any) -> None:
    """An IME that composes (macOS Vietnamese Telex, Gboard, any CJK one) takes Enter to accept
    the word and Escape to drop it: those keys are the IME's, not the commune filter's (Enter
    goes to the list) nor the dialog's (Escape closes it)."""
    page.goto(relay.host_url + "/news")
    form = open_form(page)
    search = form.locator("#q-commune")
    search.click()
    ime = context.new_cdp_session(page)
    ime.send("Input.insertText", {"text": "phường "})
    for word in ("h", "hạ", "hạc"):
        ime.send("Input.imeSetComposition", {"text": word, "selectionStart": len(word), "selectionEnd": len(word)})
    ime_key(ime, "Enter")
    expect(search).to_be_focused()
    expect(search).to_have_value(re.compile("^phường hạc"))
    # Escape dropping a word half typed in the title leaves the dialog open.
    title = form.locator("#f-title")
    title.click()
    ime.send("Input.imeSetComposition", {"text": "tiê", "selectionStart": 3, "selectionEnd": 3})
    ime_key(ime, "Escape")
    # A close asked for would be a message from the frame to the page: let both run what is queued.
    after_pending_timers(page.locator("phanhoi-widget iframe.frame-form").element_handle().content_frame())
    after_pending_timers(page)
    expect(page.locator("phanhoi-widget dialog")).to_be_visible()
    expect(title).to_be_focused()
