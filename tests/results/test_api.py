"""GET /api/v1/results, /results/{id}, /scoreboard: filters, search, paging, caching, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import assert_problem


@pytest.fixture
def three(publish: Any) -> None:
    publish("KQ-1", title="Rác thải tồn đọng ở chợ Vườn Hoa", category="moi-truong", agency="ubnd-xa",
            commune_code="14797", answered_at="2026-11-05T09:00:00+07:00",
            deadline="2026-11-04T23:59:59+07:00")
    publish("KQ-2", title="Đèn đường hỏng", answered_at="2026-11-10T09:00:00+07:00")
    publish("KQ-3", title="Hóa đơn tiền nước tăng bất thường", category="cap-thoat-nuoc", agency="so-xd",
            answered_at="2026-10-01T09:00:00+07:00", received_at="2026-09-20T09:00:00+07:00")


def _ids(client: Any, query: str) -> list[str]:
    r = client.get("/api/v1/results" + query)
    assert r.status_code == 200, r.get_data(as_text=True)
    return [i["id"] for i in r.get_json()["items"]]


@pytest.mark.parametrize("query, expected", [
    ("", ["KQ-2", "KQ-1", "KQ-3"]),
    ("?category=moi-truong", ["KQ-1"]),
    ("?agency=so-xd", ["KQ-2", "KQ-3"]),
    ("?commune=14797", ["KQ-1"]),
    ("?q=r%C3%A1c+th%E1%BA%A3i", ["KQ-1"]),  # "rác thải"
    ("?q=rac+thai", ["KQ-1"]),  # without diacritics
    ("?q=HOA+DON+TIEN", ["KQ-3"]),  # case, every word, "Hóa" without its tone
    ("?q=ho%C3%A1+%C4%91%C6%A1n+ti%E1%BB%81n", ["KQ-3"]),  # "hoá đơn tiền": the other tone placement
    ("?q=%25", []),  # LIKE's wildcard is searched as a character
    ("?q=_", []),
    ("?q=%27%3B+DROP+TABLE+published_results%3B+--", []),
    ("?since=2026-11-06", ["KQ-2"]),
    ("?until=2026-11-05", ["KQ-1", "KQ-3"]),
    ("?since=2026-11-01&until=2026-11-09", ["KQ-1"]),
    ("?per_page=1&page=2", ["KQ-1"]),
    ("?page=99", []),  # past the end: an empty page, not an error
])
def test_filters(app: Any, client: Any, three: None, query: str, expected: list[str]) -> None:
    assert _ids(client, query) == expected


def test_paging_figures(app: Any, client: Any, three: None) -> None:
    body = client.get("/api/v1/results?per_page=2&page=2").get_json()
    assert (body["total"], body["pages"], body["page"], body["per_page"]) == (3, 2, 2, 2)


@pytest.mark.parametrize("query, field", [
    ("?colour=red", "colour"),
    ("?page=0", "page"), ("?page=abc", "page"), ("?page=-1", "page"), ("?page=%EF%BC%92", "page"),
    ("?per_page=1000", "per_page"),
    ("?category=khong-co", "category"),
    ("?agency=nowhere", "agency"),
    ("?since=29-11-2026", "since"),
    ("?since=2026-11-10&until=2026-11-01", "until"),
    ("?until=9999-12-31", "until"), ("?since=0001-01-01", "since"),  # were 500s
    ("?q=" + "a" * 101, "q"),
])
def test_bad_filters_say_what_is_allowed(app: Any, client: Any, three: None, query: str, field: str) -> None:
    body = assert_problem(client.get("/api/v1/results" + query), 400)
    assert field in body["errors"]
    if field in {"colour", "category", "page"}:
        assert body["allowed"]
    if field == "category":
        assert "moi-truong" in body["allowed"]


def test_unknown_site_is_404(app: Any, client: Any) -> None:
    assert_problem(client.get("/api/v1/results?site=pk_nope"), 400)
    assert_problem(client.get("/api/v1/results/KHONG-CO"), 404, "result-not-found")


def test_etag_and_cache_control(app: Any, client: Any, three: None, publish: Any) -> None:
    r = client.get("/api/v1/results")
    assert r.headers["Cache-Control"].startswith("public, max-age=")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    etag = r.headers["ETag"]
    assert client.get("/api/v1/results", headers={"If-None-Match": etag}).status_code == 304
    publish("KQ-4", title="Kết quả mới")
    again = client.get("/api/v1/results", headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert "KQ-4" in [i["id"] for i in again.get_json()["items"]]


def test_scoreboard(app: Any, client: Any, three: None) -> None:
    body = client.get("/api/v1/scoreboard?since=2026-01-01&until=2026-12-31").get_json()
    assert "công khai" in body["basis"]
    agencies = {a["code"]: a for a in body["agencies"]}
    assert agencies["so-xd"]["answered"] == 2 and agencies["so-xd"]["on_time_rate"] == 1.0
    assert agencies["ubnd-xa"]["on_time_rate"] == 0.0  # answered a day after the deadline
    assert agencies["so-xd"]["median_days"] == 10.0  # 9 days (KQ-2) and 11 days (KQ-3)
    assert [a["code"] for a in body["agencies"]] == ["so-xd", "ubnd-xa"]  # ranked by on-time rate
    assert body["total"]["answered"] == 3
    assert {c["code"] for c in body["categories"]} == {"moi-truong", "chieu-sang-cay-xanh", "cap-thoat-nuoc"}
    narrow = client.get("/api/v1/scoreboard?since=2026-11-06&until=2026-12-31").get_json()
    assert narrow["total"]["answered"] == 1


def test_scoreboard_counts_satisfaction_where_rated(app: Any, client: Any, submit_and_publish: Any,
                                                    submission_body: dict[str, Any]) -> None:
    submit_and_publish()
    code = client.get("/api/v1/results").get_json()["items"][0]["id"]
    assert code.startswith("r-")
    from widget_server.store import db
    import sqlalchemy as sa

    with db.read() as conn:
        tracking = conn.execute(sa.select(db.submissions.c.tracking_code)).scalar_one()
    r = client.post(f"/api/v1/submissions/{tracking}/rating", json={"contact": "0912345678", "satisfied": True})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = client.get("/api/v1/scoreboard").get_json()
    assert body["total"]["rated"] == 1 and body["total"]["satisfaction_rate"] == 1.0


@pytest.mark.parametrize("query", ["?since=yesterday", "?bogus=1", "?since=2026-12-01&until=2026-01-01",
                                   "?until=9999-12-31", "?since=0001-01-01&until=9999-12-31", "?until=0001-01-01"])
def test_scoreboard_bad_input(app: Any, client: Any, query: str) -> None:
    assert_problem(client.get("/api/v1/scoreboard" + query), 400)


def test_openapi_describes_results(app: Any, client: Any) -> None:
    spec = client.get("/openapi.json").get_json()
    assert {"/api/v1/results", "/api/v1/results/{result_id}", "/api/v1/scoreboard"} <= set(spec["paths"])
    assert {"Result", "ResultPage", "Scoreboard", "ResultPublished"} <= set(spec["components"]["schemas"])


@pytest.mark.parametrize("path", ["/api/v1/results", "/open311/v2/requests.json", "/open311/v2/requests.xml",
                                  "/p/{key}/feed.atom"])
def test_public_answers_go_out_compressed_once_per_version(app: Any, client: Any, site: Any, three: None,
                                                           publish: Any, monkeypatch: Any, path: str) -> None:
    """A phone on a slow network reads the public record as the board's pages are sent: brotli or
    gzip as it accepts, compressed once per version and encoding, each with its own ETag."""
    import gzip

    import brotli

    from widget_server.web import compress

    for n in range(4, 12):  # past compress.MIN_BYTES for every format
        publish(f"KQ-{n}", title=f"Kết quả số {n} về đèn đường", answer="Đã thay bóng đèn. " * 5)
    made: list[str] = []
    encode = compress.encode
    monkeypatch.setattr(compress, "encode", lambda body, name: made.append(name) or encode(body, name))
    url = path.format(key=site[0].key)
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert len(plain.data) >= compress.MIN_BYTES
    br = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert made == ["br", "gzip"]  # the third answer was the kept copy
    assert (br.headers["Content-Encoding"], gz.headers["Content-Encoding"]) == ("br", "gzip")
    assert brotli.decompress(br.data) == plain.data == gzip.decompress(gz.data)
    assert len(gz.data) < len(plain.data) / 2
    assert len({plain.headers["ETag"], br.headers["ETag"], gz.headers["ETag"]}) == 3
    for resp in (plain, br, gz):
        assert "Accept-Encoding" in resp.headers["Vary"]
        assert resp.mimetype == plain.mimetype
    held = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": gz.headers["ETag"]})
    assert held.status_code == 304 and "Accept-Encoding" in held.headers["Vary"]
