"""Forced colours (Windows contrast themes): the edges and marks the widget draws with colour
alone must still show when the system paints every colour (WCAG 1.4.11)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.widget.test_browser import fill_and_send, lookup

pytestmark = pytest.mark.browser

# A box's edge: a border or an outline, drawn in another colour than the box's own background.
EDGE = """e => { const c = getComputedStyle(e);
  const border = parseFloat(c.borderTopWidth) > 0 && c.borderTopStyle !== "none" && c.borderTopColor !== c.backgroundColor;
  const outline = parseFloat(c.outlineWidth) > 0 && c.outlineStyle !== "none" && c.outlineColor !== c.backgroundColor;
  return border || outline; }"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_dialog_has_an_edge_in_forced_colours(relay: Any, page: Any, scheme: str) -> None:
    """Forced colours paint the dialog and the page behind it in the same Canvas colour (the
    backdrop too): without a border the form runs into the article around it."""
    page.emulate_media(forced_colors="active", color_scheme=scheme)
    page.goto(relay.host_url + "/news")
    page.locator("phanhoi-widget").get_by_role("button", name="Gửi phản ánh").click()
    dialog = page.locator("phanhoi-widget dialog")
    expect(dialog).to_be_visible()
    assert dialog.evaluate(EDGE)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_timeline_keeps_its_marks_in_forced_colours(relay: Any, page: Any, scheme: str) -> None:
    """Each step of the lookup's timeline has a round mark on the line; forced colours paint its
    (accent) background in Canvas, so the marks vanish and leave gaps in the line."""
    page.goto(f"{relay.url}/w/{relay.site.key}/form")
    code = fill_and_send(page)
    page.emulate_media(forced_colors="active", color_scheme=scheme)
    page.goto(f"{relay.url}/w/{relay.site.key}/track?code={code}")
    lookup(page, code)
    step = page.locator(".tl li").first
    expect(step).to_be_visible()
    mark, canvas = step.evaluate("""li => [getComputedStyle(li, "::before").backgroundColor,
                                          getComputedStyle(document.body).backgroundColor]""")
    assert mark != canvas, (mark, canvas)
