"""The board, one result, the scoreboard page, the framed variants and the Atom feed (no JavaScript)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import pytest

ATOM = "{http://www.w3.org/2005/Atom}"


class Outline(HTMLParser):
    """What a crawler and a screen reader see: lang, title, canonical, headings, links."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = None
        self.canonical = None
        self.headings: list[str] = []
        self.links: list[str] = []
        self._tag: str | None = None
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical = a.get("href")
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag in {"h1", "h2", "h3", "title"}:
            self._tag = tag
            if tag != "title":
                self.headings.append(tag)

    def handle_data(self, data: str) -> None:
        if self._tag == "title":
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        if tag == self._tag:
            self._tag = None


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


@pytest.fixture
def many(publish: Any) -> None:
    for n in range(1, 26):
        publish(f"KQ-{n:02d}", title=f"Phản ánh số {n}", answered_at=f"2026-11-{n:02d}T09:00:00+07:00")


def test_board_lists_filters_and_pages_without_javascript(app: Any, client: Any, site: Any, many: None) -> None:
    key = site[0].key
    r = client.get(f"/p/{key}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = outline(html)
    assert page.lang == "vi"
    assert page.canonical == f"http://relay.test/p/{key}"
    assert page.headings[0] == "h1" and page.headings.count("h1") == 1
    assert "Báo Thanh Hóa" in page.title
    assert "Phản ánh số 25" in html and "Phản ánh số 5<" not in html  # newest first, 20 a page
    assert 'rel="next"' in html and f"/p/{key}?page=2" in html
    second = client.get(f"/p/{key}?page=2").get_data(as_text=True)
    assert "Phản ánh số 5<" in second and 'rel="prev"' in second
    assert outline(second).canonical == f"http://relay.test/p/{key}?page=2"
    found = client.get(f"/p/{key}?q=so+7").get_data(as_text=True)  # without diacritics
    assert "Phản ánh số 7<" in found and "Phản ánh số 8<" not in found
    assert 'type="application/atom+xml"' in html
    assert r.headers["Cache-Control"].startswith("public")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert "<script src=" in html and "inline" not in r.headers["Content-Security-Policy"]


def test_board_bad_filter_is_a_message_not_an_error(app: Any, client: Any, site: Any, many: None) -> None:
    r = client.get(f"/p/{site[0].key}?page=abc")
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert 'role="alert"' in html and "Phản ánh số 25" in html
    assert client.get(f"/p/{site[0].key}?page=9").status_code == 200  # past the end: empty
    # Asked again with its ETag, the 400 is sent whole: a 304 would stand for a 200's page.
    again = client.get(f"/p/{site[0].key}?page=abc", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 400 and again.get_data(as_text=True) == html


def test_board_revalidates_with_a_weak_etag(app: Any, client: Any, site: Any, many: None) -> None:
    """A proxy that re-encodes a page sends its ETag back weakened (``W/"…"``); If-None-Match
    compares weakly (RFC 9110, 13.1.2), so it still gets a 304."""
    for accept in ("identity", "gzip"):
        first = client.get(f"/p/{site[0].key}", headers={"Accept-Encoding": accept})
        weak = "W/" + first.headers["ETag"]
        held = client.get(f"/p/{site[0].key}", headers={"Accept-Encoding": accept, "If-None-Match": weak})
        assert held.status_code == 304 and not held.data


def test_one_result_page(app: Any, client: Any, site: Any, publish: Any) -> None:
    publish("KQ-1", answered_at="2026-11-20T09:00:00+07:00", deadline="2026-11-18T23:59:59+07:00")
    r = client.get(f"/p/{site[0].key}/KQ-1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert outline(html).canonical == f"http://relay.test/p/{site[0].key}/KQ-1"
    assert "Sở Xây dựng" in html and "Trễ hạn" in html and "19 ngày" in html
    assert "Đèn đường trên đại lộ Lê Lợi tắt nhiều đêm liền." in html
    missing = client.get(f"/p/{site[0].key}/KHONG-CO")
    assert missing.status_code == 404 and "Không có kết quả" in missing.get_data(as_text=True)
    assert client.get("/p/pk_nope").status_code == 404


def test_english_board(app: Any, client: Any, site: Any, publish: Any) -> None:
    publish("KQ-1")
    html = client.get(f"/p/{site[0].key}?lang=en").get_data(as_text=True)
    assert outline(html).lang == "en" and "Answers to citizens" in html
    assert 'lang="vi"' in html  # the agency's own words stay marked Vietnamese


def test_markup_in_results_is_shown_as_text(app: Any, client: Any, site: Any, publish: Any) -> None:
    publish("KQ-X", title="<script>alert(1)</script>", answer='<img src=x onerror="alert(1)">')
    for url in (f"/p/{site[0].key}", f"/p/{site[0].key}/KQ-X", f"/w/{site[0].key}/results"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, url


def test_atom_feed_follows_rfc_4287(app: Any, client: Any, site: Any, many: None) -> None:
    r = client.get(f"/p/{site[0].key}/feed.atom")
    assert r.status_code == 200 and r.mimetype == "application/atom+xml"
    feed = ET.fromstring(r.data)
    assert feed.tag == ATOM + "feed"
    # RFC 4287 §4.1.1: exactly one id, title and updated; an author (here on the feed); a self link.
    for tag in ("id", "title", "updated"):
        assert len(feed.findall(ATOM + tag)) == 1, tag
    assert feed.find(f"{ATOM}author/{ATOM}name").text == "Báo Thanh Hóa"
    rels = {link.get("rel"): link.get("href") for link in feed.findall(ATOM + "link")}
    assert rels["self"].endswith("/feed.atom") and rels["alternate"].endswith(f"/p/{site[0].key}")
    entries = feed.findall(ATOM + "entry")
    assert len(entries) == 25
    ids = [e.find(ATOM + "id").text for e in entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("http://relay.test/p/") for i in ids)
    for entry in entries:  # §4.1.2
        for tag in ("id", "title", "updated"):
            assert len(entry.findall(ATOM + tag)) == 1
        assert entry.find(ATOM + "content").get("type") == "text"
        updated = entry.find(ATOM + "updated").text
        assert updated.endswith("Z") and "T" in updated  # RFC 3339
    assert entries[0].find(ATOM + "title").text == "Phản ánh số 25"
    one = ET.fromstring(client.get(f"/p/{site[0].key}/feed.atom?q=so+7").data)
    assert [e.find(ATOM + "title").text for e in one.findall(ATOM + "entry")] == ["Phản ánh số 7"]
    assert client.get(f"/p/{site[0].key}/feed.atom?nope=1").status_code == 400


def test_feed_parses_in_a_feed_reader_library(app: Any, client: Any, site: Any, many: None) -> None:
    feedparser = pytest.importorskip("feedparser")
    parsed = feedparser.parse(client.get(f"/p/{site[0].key}/feed.atom").data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10" and len(parsed.entries) == 25


def test_feeds_stay_well_formed_xml_whatever_the_texts_hold(app: Any, client: Any, site: Any, publish: Any,
                                                              submit_and_publish: Any,
                                                              submission_body: dict[str, Any]) -> None:
    # U+FFFE and U+FFFF are no XML 1.0 characters: one of them, in a reader's title or a
    # central system's answer, made the whole Atom feed and the Open311 XML unreadable.
    publish("KQ-FF", title="Đèn \uffff hỏng", answer="Đã thay \ufffe bóng đèn.")
    submit_and_publish({**submission_body, "title": "Rác \uffff tồn đọng ở chợ"}, answer="Đã \uffff thu gom.")
    feed = ET.fromstring(client.get(f"/p/{site[0].key}/feed.atom").data)
    titles = {e.find(ATOM + "title").text for e in feed.findall(ATOM + "entry")}
    assert titles == {"Đèn hỏng", "Rác tồn đọng ở chợ"}
    requests = ET.fromstring(client.get("/open311/v2/requests.xml").data)
    assert {r.findtext("status_notes") for r in requests} == {"Đã thay bóng đèn.", "Đã thu gom."}


def test_framed_variants_are_framed_only_by_the_sites_origins(app: Any, client: Any, site: Any,
                                                              publish: Any) -> None:
    publish("KQ-1")
    origin = "https://baothanhhoa.example"
    for path in ("results", "scoreboard"):
        r = client.get(f"/w/{site[0].key}/{path}?lang=vi&origin={origin}&u=https%3A%2F%2Fx")
        assert r.status_code == 200, path
        assert f"frame-ancestors {origin}" in r.headers["Content-Security-Policy"]
        html = r.get_data(as_text=True)
        assert f'data-parent-origin="{origin}"' in html
        stranger = client.get(f"/w/{site[0].key}/{path}?origin=https://evil.example").get_data(as_text=True)
        assert "data-parent-origin" not in stranger
    scores = client.get(f"/w/{site[0].key}/scoreboard").get_data(as_text=True)
    assert "<meter" in scores and "100 %" in scores and "công khai" in scores


def test_board_is_compressed_once_per_version_and_encoding(app: Any, client: Any, site: Any, many: None,
                                                            publish: Any, monkeypatch: Any) -> None:
    """Every browser asks for brotli or gzip: the board is compressed when first asked for in an
    encoding, then served as kept until a result changes; each encoding has its own ETag."""
    import gzip

    import brotli

    from widget_server.web import compress

    made: list[str] = []
    encode = compress.encode
    monkeypatch.setattr(compress, "encode", lambda body, name: made.append(name) or encode(body, name))
    url = f"/p/{site[0].key}"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    answers = {name: client.get(url, headers={"Accept-Encoding": accept})
               for name, accept in (("br", "gzip, deflate, br"), ("gzip", "gzip"))}
    again = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert made == ["br", "gzip"]  # the third answer was the kept brotli
    assert again.data == answers["br"].data
    assert brotli.decompress(answers["br"].data) == plain.data == gzip.decompress(answers["gzip"].data)
    etags = {plain.headers["ETag"], *(r.headers["ETag"] for r in answers.values())}
    assert len(etags) == 3
    for resp in (plain, *answers.values()):
        assert "Accept-Encoding" in resp.headers["Vary"]
        assert resp.headers["Cache-Control"].startswith("public, max-age=")
    assert answers["br"].headers["Content-Encoding"] == "br"
    assert answers["gzip"].headers["Content-Encoding"] == "gzip"
    # A reader holding the brotli copy revalidates it; its ETag names no gzip copy.
    br_etag = answers["br"].headers["ETag"]
    held = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": br_etag})
    assert held.status_code == 304 and "Accept-Encoding" in held.headers["Vary"]
    assert client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": br_etag}).status_code == 200
    publish("KQ-99", title="Kết quả mới nhất")  # a new version: compressed afresh, once
    fresh = client.get(url, headers={"Accept-Encoding": "br"})
    client.get(url, headers={"Accept-Encoding": "br"})
    assert made == ["br", "gzip", "br"]
    assert "Kết quả mới nhất" in brotli.decompress(fresh.data).decode()


def test_a_result_published_while_the_board_renders_leaves_no_stale_copy(
        app: Any, client: Any, site: Any, many: None, publish: Any, monkeypatch: Any) -> None:
    """Another worker applies an event while this one renders the board: the page rendered before
    it may go out once, but no compressed copy of it stays behind for the new version, and its
    ETag never revalidates it as the new version's page."""
    import brotli

    from widget_server.results import listing
    from widget_server.web.pages import board

    search = listing.search
    # Each case on a page not cached yet (the language is in the cache key), so it renders.
    for n, (accept, url) in enumerate((("br", f"/p/{site[0].key}"),
                                       ("identity", f"/p/{site[0].key}?lang=en"))):
        title = f"Kết quả mới nhất số {n}"

        def rendering_while_published(*args: Any, **kwargs: Any) -> Any:
            found = search(*args, **kwargs)
            monkeypatch.setattr(board.listing, "search", search)  # once
            publish(f"KQ-9{n}", title=title)  # noqa: B023 - called within this iteration
            return found

        monkeypatch.setattr(board.listing, "search", rendering_while_published)
        first = client.get(url, headers={"Accept-Encoding": accept})
        old = brotli.decompress(first.data) if accept == "br" else first.data
        assert title not in old.decode()  # rendered before it: fine, once
        later = client.get(url, headers={"Accept-Encoding": accept})
        new = brotli.decompress(later.data) if accept == "br" else later.data
        assert title in new.decode()
        held = client.get(url, headers={"Accept-Encoding": accept, "If-None-Match": first.headers["ETag"]})
        assert held.status_code == 200 and held.headers["ETag"] != first.headers["ETag"]


def test_public_answers_name_their_charset_once(client: Any, site: Any, publish: Any) -> None:
    """A Content-Type with ``charset`` twice is malformed (RFC 9110 §8.3): one parameter each."""
    publish("KQ-1")
    key = site[0].key
    for path in (f"/p/{key}", f"/p/{key}/KQ-1", f"/p/{key}/scoreboard", f"/p/{key}/feed.atom",
                 "/open311/v2/requests.xml", "/open311/v2/requests.json", "/api/v1/results"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["Content-Type"].lower().count("charset") <= 1, (path, resp.headers["Content-Type"])
