"""Live servers for browser tests: the relay on 127.0.0.1 and news pages on localhost.

Two loopback servers on different ports (and different host names) make the
news page and the relay different origins, as on the real web. Fixture pages
are one article (``pages/article.html``) with the parts that differ per page
filled in from ``VARIANTS``; ``{relay}``, ``{site}`` and ``{nonce}`` are filled per request.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from widget_server import create_app
from widget_server.store import db
from widget_server.intake import sites

PAGES = Path(__file__).parent / "pages"
WIDGET_README = Path(__file__).resolve().parents[2] / "static" / "widget" / "README.md"


def readme_block(heading: str, language: str) -> str:
    """The first fenced block of that language under a heading of static/widget/README.md:
    fixture pages use the documented snippets as they are, so the docs are what is tested."""
    text = WIDGET_README.read_text(encoding="utf-8").split(heading, 1)[1]
    return text.split(f"```{language}\n", 1)[1].split("```", 1)[0]


RESERVE_CSS = readme_block("### Reserve the banner's height", "css")
AFTER_LOAD = readme_block("## Never hold up the page's `load` event", "html")


@dataclass(frozen=True)
class Variant:
    """What one fixture page changes in the shared article."""

    title: str
    slot: str = '<div data-phanhoi-slot></div>'
    scripts: str = ""
    style: str = ("body{margin:0 auto;max-width:860px;padding:16px;font:18px/1.6 Georgia,serif;color:#222;"
                  "background:#fff}[data-phanhoi-slot]{margin:16px 0}a{color:#8a1414}" + RESERVE_CSS)
    head: str = ""
    referrer_policy: str = ""
    top: str = ""
    before: str = ""
    csp: str = ""  # directives added to the page's CSP


def loader(attrs: str = "", query: str = "") -> str:
    return (f'<script async nonce="{{nonce}}" src="{{relay}}/static/widget/loader.js{query}"'
            f' data-site="{{site}}"{attrs}></script>')


NEWS = Variant("Tin tức — có chỗ đặt biểu ngữ", scripts=loader())
VARIANTS = {
    "news": NEWS,
    "noslot": replace(NEWS, title="Tin tức — không có chỗ đặt", slot=""),
    "button": replace(NEWS, title="Tin tức — nút nổi", slot="", scripts=loader(' data-variant="button"')),
    "english": replace(NEWS, title="News — English", scripts=loader(' data-lang="en"')),
    "inline": replace(NEWS, title="Tin tức — biểu mẫu trong trang",
                      slot='<div data-phanhoi-slot data-variant="inline"></div>'),
    "pinned": replace(NEWS, scripts="{pinned}"),
    "twice": replace(NEWS, title="Tin tức — tải hai lần",
                     scripts="\n".join([loader(), loader(), loader(query="?again=1")])),
    "buttonslot": replace(NEWS, title="Tin tức — nút trong chỗ đặt",
                          slot='<div data-phanhoi-slot data-variant="button"></div>'),
    "cookiebar": replace(
        NEWS, title="Tin tức — thanh cookie", slot="",
        style=NEWS.style + ".cookies{position:fixed;left:0;right:0;bottom:0;padding:12px 16px;background:#222;"
                           "color:#fff;display:flex;gap:12px;align-items:center;justify-content:space-between}",
        before='<div class="cookies"><span>Trang dùng cookie.</span><button id="agree" type="button">Đồng ý'
               '</button></div>'),
    "afterload": replace(NEWS, title="Tin tức — nạp sau load",
                         scripts=AFTER_LOAD.replace("https://RELAY", "{relay}").replace("SITE_KEY", "{site}")
                         .replace('nonce="RANDOM"', 'nonce="{nonce}"')),
    "noreferrer": replace(NEWS, title="Tin tức — không gửi referrer", referrer_policy="no-referrer"),
    "metanoreferrer": replace(NEWS, title="Tin tức — meta referrer",
                              head='<meta name="referrer" content="no-referrer">'),
    # The public record in a slot far below the fold: nothing of it loads before the reader nears it.
    "results": replace(NEWS, title="Tin tức — kết quả công khai", before="<p>.</p>" * 120,
                       slot='<div data-phanhoi-slot data-variant="results"></div>'),
    "scoreboard": replace(NEWS, title="Tin tức — bảng xếp hạng", before="<p>.</p>" * 120,
                          slot='<div data-phanhoi-slot data-variant="scoreboard"></div>'),
    "frame": Variant("Khung biểu mẫu trực tiếp", scripts="",
                     slot='<iframe id="direct" name="direct" title="Biểu mẫu" src="{relay}/w/{site}/form"'
                          ' width="600" height="600"></iframe>'),
    # The site key under a wrong attribute name: nothing can show, the console says why.
    "sitekey": replace(NEWS, title="Tin tức — thuộc tính sai", scripts=loader().replace(" data-site=", " data-site-key=")),
    # Trusted Types enforced: with no policy at all, and with a default policy that lets the
    # relay's widget scripts through (README.md, "Content-Security-Policy on the host page").
    "trustedtypes": replace(NEWS, title="Tin tức — Trusted Types",
                            csp="; require-trusted-types-for 'script'; trusted-types 'none'"),
    "trusteddefault": replace(
        NEWS, title="Tin tức — Trusted Types, chính sách mặc định",
        csp="; require-trusted-types-for 'script'; trusted-types default",
        head='<script nonce="{nonce}">\n' + readme_block("Trusted Types", "js")
        .replace("https://RELAY", "{relay}") + '</script>'),
    "hostile": replace(
        NEWS, title="Trang thù địch", style=(PAGES / "hostile.css").read_text(encoding="utf-8"),
        head='<script nonce="{nonce}">\n// Hostile globals, installed before the loader runs.\n'
             'Array.prototype.push = function () { throw new Error("Array.prototype.push is broken here"); };\n'
             'JSON.stringify = function () { throw new Error("JSON.stringify is broken here"); };\n</script>',
        top='<div class="ad">Quảng cáo</div>\n<div class="cover"></div>',
        before="<p>.</p><p>.</p><p>.</p><p>.</p>"),
}


def render_variant(name: str) -> str:
    variant = VARIANTS[name]
    html = (PAGES / "article.html").read_text(encoding="utf-8")
    for part in ("title", "style", "head", "top", "before", "slot", "scripts"):
        html = html.replace("{" + part + "}", getattr(variant, part))
    return html
def after_pending_timers(target: Any) -> None:
    """Return once timers already queued in ``target``'s document (a page or frame) have run:
    a zero-delay timer set now fires after those, and a second one after anything they queued.
    Use before asserting that something did *not* happen in a deferred handler."""
    target.evaluate("() => new Promise(r => setTimeout(() => setTimeout(r)))")


def after_rendering(page: Any) -> None:
    """Return once the page has rendered twice more: layout shifts of what is already in the
    DOM have been measured, and ``window.__cls`` has taken in every queued entry."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.evaluate("""() => { const o = window.__clsObserver; if (o) o.takeRecords().forEach(
        e => { if (!e.hadRecentInput) window.__cls += e.value; }); }""")




class LiveServer:
    """A WSGI app on an ephemeral loopback port, served from a thread."""

    def __init__(self, host: str = "127.0.0.1", name: str = "127.0.0.1") -> None:
        self.app: Callable[..., Any] | None = None
        self._srv = make_server(host, 0, self._dispatch, threaded=True)
        self.port = self._srv.server_port
        self.url = f"http://{name}:{self.port}"
        # A short poll interval: shutdown() waits for the loop to notice (0.5 s by default).
        self._thread = threading.Thread(target=self._srv.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def _dispatch(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)

    def stop(self) -> None:
        self._srv.shutdown()
        self._srv.server_close()
        self._thread.join(timeout=5)


def host_pages(relay_url: str, site_key: str) -> Callable[..., Any]:
    """The news site: fixture pages, each with a fresh nonce in a strict CSP."""

    @Request.application
    def app(request: Request) -> Response:
        name = request.path.strip("/") or "news"
        if name not in VARIANTS:
            return Response("not found", status=404)
        nonce = secrets.token_urlsafe(16)
        relay = request.args.get("relay", relay_url)
        html = render_variant(name)
        html = html.replace("{relay}", relay).replace("{site}", request.args.get("site", site_key))
        if request.args.get("lang") == "en":  # the loader follows <html lang> without data-lang
            html = html.replace('<html lang="vi">', '<html lang="en">', 1)
        if "{pinned}" in html:
            # The partner SDK's pinned snippet: versioned loader with SRI, fetched from the manifest.
            from phanhoi.embed import embed_snippet

            tag = embed_snippet(relay, request.args.get("site", site_key), pin=True)
            html = html.replace("{pinned}", tag.replace("<script ", '<script nonce="{nonce}" ', 1))
        html = html.replace("{nonce}", nonce)
        resp = Response(html, content_type="text/html; charset=utf-8")
        # Exactly the directives the README tells a host page to add for the widget.
        resp.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'nonce-{nonce}' {relay}; style-src 'nonce-{nonce}'; "
            f"frame-src {relay}; connect-src {relay}; img-src 'self' data:; object-src 'none'; base-uri 'none'"
            + VARIANTS[name].csp
        )
        if VARIANTS[name].referrer_policy:
            resp.headers["Referrer-Policy"] = VARIANTS[name].referrer_policy
        return resp

    return app


@dataclass
class Relay:
    url: str
    host_url: str
    app: Any
    site: sites.Site
    secret_key: str
    events_secret: str
    other_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def submission_id(self, tracking_code: str) -> str:
        with self.app.app_context(), db.read() as conn:
            return conn.execute(
                sa.select(db.submissions.c.id).where(db.submissions.c.tracking_code == tracking_code)
            ).scalar_one()

    def row(self, tracking_code: str) -> Any:
        with self.app.app_context(), db.read() as conn:
            return conn.execute(
                sa.select(db.submissions).where(db.submissions.c.tracking_code == tracking_code)
            ).one()

    def answer(self, tracking_code: str, text: str, agency: str = "UBND phường Hạc Thành") -> None:
        """Mark a submission answered the way the central system does: a signed status event."""
        from phanhoi.central import EventSender

        with EventSender(self.url, self.events_secret) as sender:
            sender.send_status(
                submission_id=self.submission_id(tracking_code), central_id="C-1",
                status="answered", answer=text, agency=agency, sequence=1,
            )


@pytest.fixture
def relay(app_config: dict[str, Any]) -> Iterator[Relay]:
    """The relay on 127.0.0.1, a news site on localhost, and an unregistered site."""
    relay_srv = LiveServer("127.0.0.1", "127.0.0.1")
    host_srv = LiveServer("127.0.0.1", "localhost")
    other_srv = LiveServer("127.0.0.1", "127.0.0.1")
    config = {**app_config, "PUBLIC_URL": relay_srv.url}
    application = create_app(config)
    relay_srv.app = application
    with application.app_context():
        site, secret = sites.create_site("Báo Thanh Hóa", [host_srv.url])
    host_srv.app = host_pages(relay_srv.url, site.key)
    other_srv.app = host_pages(relay_srv.url, site.key)
    try:
        yield Relay(url=relay_srv.url, host_url=host_srv.url, app=application, site=site,
                    secret_key=secret, events_secret=config["CENTRAL_EVENTS_SECRET"],
                    other_url=other_srv.url)
    finally:
        for srv in (host_srv, other_srv, relay_srv):
            srv.stop()
        db.get_engine(application).dispose()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    ctx.set_default_timeout(20_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.page_errors = errors  # type: ignore[attr-defined]
    yield pg
