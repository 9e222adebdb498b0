"""The form page's GET from the per-process cache is the page an uncached render makes,
for every input that changes it, with only the form token and the style nonce new per answer."""

from __future__ import annotations

import gzip
import re
from typing import Any

import pytest

from tests.server.test_limits import _make, body_for, form_post
from widget_server.intake import sites, tokens

TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
NONCE = re.compile(r"nonce[-=]\"?([A-Za-z0-9_-]{16,})")
NAT = "100.64.0.1"
QUIET = "198.51.100.7"


def _normalise(resp: Any) -> tuple[int, str, str]:
    html = resp.get_data(as_text=True) if "Content-Encoding" not in resp.headers else \
        gzip.decompress(resp.get_data()).decode()
    csp = resp.headers["Content-Security-Policy"]
    return resp.status_code, NONCE.sub("N", TOKEN.sub("T", html)), NONCE.sub("N", csp)


@pytest.fixture
def busy_app(app_config: dict[str, Any]) -> Any:
    app = _make(app_config, RATELIMIT_SUBMIT_BUSY="2 per minute")
    with app.app_context():
        site, _secret = sites.create_site("Báo A", ["https://a.example", "https://b.example"],
                                          theme={"accent": "#0b5394"})
        client = app.test_client()
        for i in range(2):
            assert form_post(app, client, site, body_for(site), ip=NAT, phone=f"09120000{i:02d}").status_code == 201
        app.config["TEST_SITE"] = site
        yield app


VARIANTS = [
    # (path and query, headers, client address)
    ("/w/{key}/form?origin=https://a.example", {}, QUIET),
    ("/w/{key}/form?origin=https://b.example", {}, QUIET),
    ("/w/{key}/form?origin=https://a.example&inline=1", {}, QUIET),
    ("/w/{key}/form?origin=https://a.example", {}, NAT),
    ("/w/{key}/form?origin=https://a.example", {"Accept-Language": "en-GB,en;q=0.8"}, QUIET),
    ("/w/{key}/form?origin=https://a.example&lang=en", {}, NAT),
    ("/w/{key}/form?origin=https://a.example&u=https://a.example/bai-viet",
     {"Referer": "https://a.example/bai-viet"}, QUIET),
    ("/w/{key}/form?origin=https://a.example&u=https://a.example/bai-viet", {}, QUIET),
    ("/s/{key}", {}, QUIET),
    ("/s/{key}", {}, NAT),
    ("/s/{key}", {"Accept-Language": "en"}, QUIET),
    ("/s/{key}?src=tv", {}, QUIET),
]


def test_cached_form_pages_match_uncached_renders_for_every_input(busy_app: Any) -> None:
    site = busy_app.config["TEST_SITE"]
    client = busy_app.test_client()
    # The inputs do change the page: every variant is a page of its own, cached apart.
    seen: dict[tuple[int, str, str], int] = {}
    for n, (path, headers, ip) in enumerate(VARIANTS):
        url = path.format(key=site.key)
        get = lambda: client.get(url, headers=headers, environ_base={"REMOTE_ADDR": ip})  # noqa: E731
        busy_app.config["PAGE_CACHE"] = False
        plain = get()
        busy_app.config["PAGE_CACHE"] = True
        filled, hit = get(), get()
        zipped = client.get(url, headers={**headers, "Accept-Encoding": "br;q=1, gzip;q=0.8"},
                            environ_base={"REMOTE_ADDR": ip})
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in zipped.headers["Vary"]
        assert _normalise(zipped) == _normalise(plain), (url, headers, ip)
        assert plain.status_code == 200, url
        assert _normalise(filled) == _normalise(plain), (url, headers, ip)
        assert _normalise(hit) == _normalise(plain), (url, headers, ip)
        # Per response: a new, valid form token and a new style nonce (in the page and its CSP).
        tokens_seen = [TOKEN.search(r.get_data(as_text=True))[1] for r in (filled, hit)]
        assert tokens_seen[0] != tokens_seen[1]
        with busy_app.test_request_context():
            for token in tokens_seen:
                assert tokens.verify_form_token(token, site.key, check_fill_time=False)
        nonces = [NONCE.search(r.headers["Content-Security-Policy"])[1] for r in (filled, hit)]
        assert nonces[0] != nonces[1]
        for r, nonce in zip((filled, hit), nonces, strict=True):
            assert f'nonce="{nonce}"' in r.get_data(as_text=True)
        if "Accept-Language" in headers:
            continue  # a site's own locale wins over the browser's (i18n.negotiate): same page
        assert _normalise(plain) not in seen, (VARIANTS[seen[_normalise(plain)]], VARIANTS[n])
        seen[_normalise(plain)] = n


def test_the_busy_decision_is_per_address_on_cached_pages(busy_app: Any) -> None:
    site = busy_app.config["TEST_SITE"]
    client = busy_app.test_client()
    for _ in range(2):
        assert "data-altcha-now" in client.get(f"/s/{site.key}", environ_base={"REMOTE_ADDR": NAT}).get_data(
            as_text=True)
        assert "data-altcha-now" not in client.get(f"/s/{site.key}", environ_base={
            "REMOTE_ADDR": QUIET}).get_data(as_text=True)


def test_spliced_gzip_is_one_ordinary_member_whatever_the_holes() -> None:
    """Values of the planned length are spliced in; any other length is compressed whole."""
    import random
    import string
    import zlib

    from widget_server.web.pages.spliced import Spliced

    rng = random.Random(7)
    words = ['<div class="f">', "<input name=", 'value="', "</div>", "phản ánh", "Hóa đơn", "x" * 300]
    for _ in range(100):
        holes = [rng.choice(["@T@", "@N@"]) for _ in range(rng.randint(0, 4))]
        chunks = ["".join(rng.choice(words) for _ in range(rng.randint(0, 2000))) for _ in range(len(holes) + 1)]
        page = chunks[0] + "".join(h + c for h, c in zip(holes, chunks[1:], strict=True))
        lengths = {"token": rng.randint(1, 120), "nonce": 22}
        spliced = Spliced.make(page, {"token": "@T@", "nonce": "@N@"}, lengths)
        extra = 0 if rng.random() < 0.8 else 1
        values = {name: "".join(rng.choice(string.ascii_letters + "._-") for _ in range(n + extra))
                  for name, n in lengths.items()}
        expected = page.replace("@T@", values["token"]).replace("@N@", values["nonce"]).encode()
        assert spliced.fill(values, gzip=False) == expected
        stream = zlib.decompressobj(31)
        assert stream.decompress(spliced.fill(values, gzip=True)) == expected
        assert stream.eof and not stream.unused_data
