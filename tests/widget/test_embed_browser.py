"""The loader on pages that get its embed wrong or restrict it: it says why in the console,
never throws into the page, still gets the reader to the form, and speaks its own language."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.widget.test_browser import wait_until

pytestmark = pytest.mark.browser

SHADOW = "document.querySelector('phanhoi-widget').shadowRoot"


def test_a_misspelt_site_attribute_is_named_in_the_console(relay: Any, page: Any) -> None:
    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.goto(relay.host_url + "/sitekey")
    page.wait_for_load_state("load")
    wait_until(page, "true")
    assert page.locator("phanhoi-widget").count() == 0
    assert any(w.startswith("Phản hồi widget:") and "data-site" in w for w in warnings), warnings
    assert page.page_errors == []  # type: ignore[attr-defined]


def test_trusted_types_without_a_policy_opens_the_full_page(relay: Any, page: Any, context: Any) -> None:
    """require-trusted-types-for 'script' refuses a plain script URL and, here, any policy: the
    dialog cannot load, so the button opens the form's own page instead of doing nothing."""
    page.add_init_script("window.__errors = []; window.onerror = (m) => { window.__errors.push(String(m)); };")
    page.goto(relay.host_url + "/trustedtypes")
    send = page.locator("phanhoi-widget").get_by_role("button", name="Gửi phản ánh")
    expect(send).to_be_visible()
    send.hover()  # intent: the loader tries to fetch the dialog here
    page.locator("phanhoi-widget").get_by_role("button", name="Tra cứu").focus()
    wait_until(page, "true")
    with context.expect_page() as opened:
        send.click()
    full = opened.value
    full.wait_for_load_state()
    assert full.url.startswith(f"{relay.url}/s/{relay.site.key}")
    expect(full.locator("#f-title")).to_be_visible()
    with context.expect_page() as opened:
        page.locator("phanhoi-widget").get_by_role("button", name="Tra cứu").click()
    assert opened.value.url.startswith(f"{relay.url}/w/{relay.site.key}/track")
    assert page.evaluate("window.__errors") == []
    assert page.page_errors == []  # type: ignore[attr-defined]


def test_trusted_types_with_the_documented_default_policy(relay: Any, page: Any) -> None:
    page.goto(relay.host_url + "/trusteddefault")
    page.locator("phanhoi-widget").get_by_role("button", name="Gửi phản ánh").click()
    frame = page.frame_locator("phanhoi-widget iframe.frame-form")
    expect(frame.locator("#f-title")).to_be_visible()
    assert page.page_errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("path, lang", [("/english", "en"), ("/news", "vi"), ("/news?lang=en", "en")])
def test_the_widget_says_its_language(relay: Any, page: Any, path: str, lang: str) -> None:
    """WCAG 3.1.2: a screen reader reads the widget in its own language, whatever the page's."""
    page.goto(relay.host_url + path)
    expect(page.locator("phanhoi-widget section")).to_be_visible()
    assert page.locator("phanhoi-widget").get_attribute("lang") == lang
    assert page.evaluate(f"{SHADOW}.querySelector('section').matches(':lang({lang})')")
    page.locator("phanhoi-widget section button").first.click()
    expect(page.locator("phanhoi-widget dialog")).to_be_visible()
    # The dialog (in the same shadow root) and its title bar take the language from the host.
    assert page.evaluate(f"{SHADOW}.querySelector('dialog h2').matches(':lang({lang})')")
    other = "vi" if lang == "en" else "en"
    assert not page.evaluate(f"{SHADOW}.querySelector('dialog h2').matches(':lang({other})')")


def test_a_code_asked_for_is_carried_to_the_full_page(relay: Any, page: Any, context: Any) -> None:
    """PhanHoi("track", code) where the dialog cannot load (Trusted Types): the lookup page opens
    in a new tab with the code already in its field, as the dialog would have shown it."""
    page.goto(relay.host_url + "/trustedtypes")
    expect(page.locator("phanhoi-widget").get_by_role("button", name="Tra cứu")).to_be_visible()
    with context.expect_page() as opened:
        page.evaluate("PhanHoi('track', 'PH-AAAA-BBBBC')")
    full = opened.value
    full.wait_for_load_state()
    assert full.url.startswith(f"{relay.url}/w/{relay.site.key}/track?")
    assert "code=PH-AAAA-BBBBC" in full.url
    expect(full.locator("#t-code")).to_have_value("PH-AAAA-BBBBC")
    assert page.page_errors == []  # type: ignore[attr-defined]


def test_a_refused_lookup_frame_links_the_full_page_with_its_code(relay: Any, page: Any) -> None:
    page.goto(relay.other_url + "/news")  # an origin the site did not register: the frame is refused
    expect(page.locator("phanhoi-widget").get_by_role("button", name="Tra cứu")).to_be_visible()
    page.evaluate("PhanHoi('track', 'PH-AAAA-BBBBC')")
    link = page.locator("phanhoi-widget dialog").get_by_role("status").get_by_role("link", name="Mở ở trang riêng")
    expect(link).to_be_visible(timeout=5000)
    assert link.get_attribute("href") == f"{relay.url}/w/{relay.site.key}/track?lang=vi&code=PH-AAAA-BBBBC"
