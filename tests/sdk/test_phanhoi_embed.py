"""Embed snippet (escaping, manifest pinning), standalone URL, QR codes."""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser

import pytest
import responses
from phanhoi.embed import Manifest, embed_snippet, fetch_manifest, qr_svg, standalone_url
from phanhoi.errors import NotFoundError, PhanHoiError

RELAY = "https://phananh.baothanhhoa.vn"
MANIFEST_URL = RELAY + "/static/widget/manifest.json"
MANIFEST = {
    "version": "1.4.2",
    "loader": "loader.1.4.2.js",
    "integrity": "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
}
HOSTILE = '"><script>alert(1)</script>'


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(snippet: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = TagCollector()
    collector.feed(snippet)
    return collector.tags


def test_pinned_snippet_uses_manifest(mocked: responses.RequestsMock) -> None:
    mocked.get(MANIFEST_URL, json=MANIFEST)
    snippet = embed_snippet(RELAY + "/", "site_abc", "button", "en")
    assert snippet == (
        f'<script async src="{RELAY}/static/widget/loader.1.4.2.js" data-site="site_abc" '
        f'data-variant="button" data-lang="en" integrity="{MANIFEST["integrity"]}" '
        'crossorigin="anonymous"></script>'
    )


def test_unpinned_snippet() -> None:
    snippet = embed_snippet(RELAY, "site_abc", pin=False)
    [(tag, attrs)] = parse(snippet)
    assert tag == "script"
    assert attrs == {
        "async": None,
        "src": RELAY + "/static/widget/loader.js",
        "data-site": "site_abc",
        "data-variant": "banner",
        "data-lang": "vi",
    }


def test_hostile_site_key_is_escaped(mocked: responses.RequestsMock) -> None:
    mocked.get(MANIFEST_URL, json=MANIFEST)
    for snippet in (embed_snippet(RELAY, HOSTILE), embed_snippet(RELAY, HOSTILE, pin=False)):
        tags = parse(snippet)
        assert [t for t, _ in tags] == ["script"]  # nothing broke out of the attribute
        assert tags[0][1]["data-site"] == HOSTILE
        assert "<script>alert" not in snippet
        assert "&quot;&gt;&lt;script&gt;" in snippet


def test_given_manifest_skips_network() -> None:
    manifest = Manifest.from_dict(MANIFEST)
    snippet = embed_snippet(RELAY, "k", manifest=manifest)
    assert "loader.1.4.2.js" in snippet and "integrity=" in snippet


@pytest.mark.parametrize(
    "bad",
    [
        {**MANIFEST, "loader": "https://evil.example/x.js"},
        {**MANIFEST, "loader": "../loader.1.js"},
        {**MANIFEST, "loader": 'loader.1.js" onload="x'},
        {**MANIFEST, "integrity": "sha256-abc"},
        {**MANIFEST, "integrity": 'sha384-a" onload="x'},
        {"version": "1"},
        ["not", "an", "object"],
    ],
)
def test_suspicious_manifest_refused(bad: object, mocked: responses.RequestsMock) -> None:
    mocked.get(MANIFEST_URL, json=bad)
    with pytest.raises(PhanHoiError):
        embed_snippet(RELAY, "k")


def test_manifest_not_json(mocked: responses.RequestsMock) -> None:
    mocked.get(MANIFEST_URL, body="<html>")
    with pytest.raises(PhanHoiError, match="JSON"):
        fetch_manifest(RELAY)


def test_manifest_http_errors_translated(mocked: responses.RequestsMock) -> None:
    mocked.get(MANIFEST_URL, status=404)
    with pytest.raises(NotFoundError):
        fetch_manifest(RELAY)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"variant": "popup"}, "variant"),
        ({"lang": "fr"}, "lang"),
        ({"site_key": ""}, "site_key"),
        ({"relay_url": "javascript:alert(1)"}, "relay_url"),
        ({"relay_url": "relay.example"}, "relay_url"),
    ],
)
def test_validation(kwargs: dict[str, str], message: str) -> None:
    args = {"relay_url": RELAY, "site_key": "k", "pin": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        embed_snippet(**args)  # type: ignore[arg-type]


def test_standalone_url() -> None:
    assert standalone_url(RELAY + "/", "site_abc") == RELAY + "/s/site_abc"
    assert standalone_url(RELAY, "site_abc", "tv") == RELAY + "/s/site_abc?src=tv"
    assert standalone_url(RELAY, "a/b c", "báo in&x=1") == (
        RELAY + "/s/a%2Fb%20c?src=b%C3%A1o+in%26x%3D1"
    )


def test_qr_svg_encodes_standalone_url() -> None:
    import segno

    svg = qr_svg(RELAY, "site_abc", "tv")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "<title>Phản ánh, kiến nghị</title>" in svg
    # Same content gives the same matrix, hence the same path data.
    expected = segno.make(RELAY + "/s/site_abc?src=tv", error="m", micro=False).svg_inline()
    assert re.findall(r' d="([^"]+)"', svg) == re.findall(r' d="([^"]+)"', expected)
    assert qr_svg(RELAY, "site_abc", "print") != svg


def test_qr_svg_without_segno(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "segno", None)
    with pytest.raises(PhanHoiError, match=r"pip install 'phanhoi\[qr\]'"):
        qr_svg(RELAY, "site_abc")


def test_snippet_names_the_channel_the_reach_figures_count() -> None:
    """README (Embedding): `data-channel` (web, tv, radio…) is the channel a page counts under;
    the SDK writes it, and refuses what the loader would quietly count as web."""
    manifest = Manifest.from_dict(MANIFEST)
    [(_, attrs)] = parse(embed_snippet(RELAY, "pk_x", manifest=manifest, channel="tv"))
    assert attrs["data-channel"] == "tv"
    [(_, plain)] = parse(embed_snippet(RELAY, "pk_x", manifest=manifest))
    assert "data-channel" not in plain
    with pytest.raises(ValueError, match="channel"):
        embed_snippet(RELAY, "pk_x", manifest=manifest, channel="Truyền hình")
