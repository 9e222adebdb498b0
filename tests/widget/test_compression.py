"""HTML pages go out compressed when the reader accepts it (issue 10, item 6)."""

from __future__ import annotations

import gzip
from typing import Any

import brotli
import pytest

PAGES = ["/w/{key}/form", "/s/{key}", "/w/{key}/track"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(("encoding", "decode"), [("gzip", gzip.decompress), ("br", brotli.decompress)])
def test_pages_are_compressed_when_accepted(client: Any, site: Any, path: str, encoding: str,
                                            decode: Any) -> None:
    url = path.format(key=site[0].key)
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    resp = client.get(url, headers={"Accept-Encoding": encoding})
    assert resp.status_code == 200
    assert resp.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in resp.headers["Vary"]
    html = decode(resp.data).decode("utf-8")
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert len(resp.data) < len(plain.data) / 2
    # The security headers travel with the compressed page.
    assert "frame-ancestors" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_brotli_preferred_and_q0_refused(client: Any, site: Any) -> None:
    url = f"/w/{site[0].key}/track"
    assert client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"}).headers["Content-Encoding"] == "br"
    resp = client.get(url, headers={"Accept-Encoding": "br;q=0, gzip"})
    assert resp.headers["Content-Encoding"] == "gzip"


def test_form_page_gets_the_gzip_prepared_once_when_gzip_is_accepted(client: Any, site: Any) -> None:
    """The form page's GET is gzipped once per version (web/pages/spliced.py); brotli would be a
    compression per response, so a browser accepting both gets the prepared gzip."""
    url = f"/w/{site[0].key}/form"
    resp = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert resp.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(resp.data).decode().rstrip().endswith("</html>")


def test_json_and_assets_are_left_alone(client: Any, site: Any) -> None:
    resp = client.get(f"/api/v1/sites/{site[0].key}/config", headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and "Content-Encoding" not in resp.headers
    asset = client.get("/static/widget/form.js", headers={"Accept-Encoding": "gzip"})
    # Precompressed once by assets.py, not twice.
    assert gzip.decompress(asset.data).startswith(b"(")


def test_nojs_post_answer_is_compressed_too(app: Any, client: Any, site: Any) -> None:
    from tests.widget.test_pages import _form, _token, _valid

    html = _form(client, site[0].key)
    resp = client.post(f"/s/{site[0].key}", data=_valid(app, site[0], _token(html)),
                       headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.headers["Content-Encoding"] == "gzip"
    assert "Đã gửi phản ánh" in gzip.decompress(resp.data).decode()
