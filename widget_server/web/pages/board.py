"""The public record where people read: the board, one result, the Atom feed, the scoreboard,
and the framed variants the loader puts in a slot (``data-variant="results"|"scoreboard"``).

Server-rendered and complete without JavaScript; every reader gets the same page, so
pages are made once per version of the results (web/public.py) and carry no nonce,
no form token and nothing personal. The board is not framed; the variants are framed
only by the site's registered origins, under the same CSP as the form.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from flask import Response, current_app, render_template, request, url_for

from widget_server import i18n
from widget_server.errors import DomainError, InvalidError, NotFoundError
from widget_server.intake import sites
from widget_server.results import feed, listing, scoreboard
from widget_server.web.assets import versioned_url
from widget_server.web.i18n import request_lang
from widget_server.web.pages.blueprint import bp
from widget_server.web.pages.common import fmt, frame_ancestors, parent_origin, secure
from widget_server.web.public import cached

SITE_SECONDS = 5.0  # how long a process trusts a site lookup (a renamed or deactivated site shows within it)


def _require(site_key: str) -> sites.Site:
    """``sites.require`` without a database round trip on every view of a public page."""
    _sites: dict[str, tuple[float, sites.Site | None]] = current_app.extensions.setdefault(
        "phanhoi_board_sites", {})
    now = time.monotonic()
    found = _sites.get(site_key)
    if found is None or now - found[0] > SITE_SECONDS:
        if len(_sites) > 1000:
            _sites.clear()
        found = _sites[site_key[:40]] = (now, sites.get_site(site_key))
    if found[1] is None:
        raise NotFoundError("Không tìm thấy trang đối tác này.", code="site-not-found")
    return found[1]


PAGE_ARGS = ("lang",)
FRAME_ARGS = ("lang", "origin", "u", "inline", "n")
FRAME_ITEMS = 5


def _public_url(path: str, args: dict[str, Any] | None = None) -> str:
    base = str(current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")
    query = urlencode(sorted((k, str(v)) for k, v in (args or {}).items() if v not in (None, "", 1)))
    return base + path + ("?" + query if query else "")


def _filters(query: listing.Query) -> dict[str, Any]:
    return {"q": query.q, "category": query.category, "agency": query.agency, "commune": query.commune,
            "since": query.since.isoformat() if query.since else None,
            "until": query.until.isoformat() if query.until else None}


def _context(site: sites.Site, lang: str) -> dict[str, Any]:
    t = i18n.catalogue(lang)
    return {"site": site, "lang": lang, "t": t, "b": t["board"], "fmt": fmt,
            "css_url": versioned_url("board.css"), "js_url": versioned_url("board.js"),
            "status_label": lambda s: i18n.status_label(s, lang)}


def _html(resp: Response, *, framed_by: str = "'none'") -> Response:
    cache_control = resp.headers.get("Cache-Control")
    secure(resp, frame_ancestors=framed_by)
    if cache_control:  # public pages: the cache's lifetime, not the form's no-store
        resp.headers["Cache-Control"] = cache_control
    resp.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return resp


def _parse(site: sites.Site, also: tuple[str, ...]) -> tuple[listing.Query, str | None]:
    """The page's query; a bad filter is a message on the page, and the list unfiltered."""
    try:
        return listing.parse(request.args, site=None, also=also), None
    except InvalidError as exc:
        return listing.Query(), exc.message


def _options(facets: dict[str, dict[str, str]], present: dict[str, dict[str, str]]) -> dict[str, Any]:
    by_name = lambda d: sorted(d.items(), key=lambda kv: kv[1])  # noqa: E731
    return {"category": by_name(facets["category"]), "agency": by_name(facets["agency"]),
            "commune": by_name(present["commune"])}


@bp.get("/p/<site_key>")
def board(site_key: str) -> Response:
    """The board: published results with filters, search and paging, working without JavaScript."""
    site = _require(site_key)
    lang = request_lang(fallback=site.locale)
    query, problem = _parse(site, PAGE_ARGS)

    def make() -> bytes:
        found = listing.search(query)
        filters = _filters(query)
        args = {**filters, "lang": lang if lang != "vi" else None}
        pages = {n: url_for("pages.board", site_key=site.key, **{k: v for k, v in {**args, "page": n}.items()
                                                                 if v not in (None, "", 1)})
                 for n in (query.page - 1, query.page + 1) if 1 <= n <= found["pages"]}
        return render_template(
            "widget/board.html", **_context(site, lang), found=found, query=query, filters=filters,
            options=_options(listing.facets(), listing.present()), problem=problem, pages=pages,
            canonical=_public_url(request.path, {**args, "page": query.page}),
            feed_url=url_for("pages.board_feed", site_key=site.key, **{k: v for k, v in filters.items() if v}),
        ).encode()

    key = f"board|{site.key}|{lang}|{problem}|{query.key()}"
    return _html(cached(key, make, "text/html; charset=utf-8", status=400 if problem else 200))


@bp.get("/p/<site_key>/<result_id>")
def board_result(site_key: str, result_id: str) -> Response:
    """One published result: the agency, the dates, whether it was answered on time."""
    site = _require(site_key)
    lang = request_lang(fallback=site.locale)
    try:
        item = listing.get(result_id)
    except NotFoundError:
        resp = Response(render_template("widget/board_missing.html", **_context(site, lang)), status=404,
                        content_type="text/html; charset=utf-8")
        return _html(resp)

    def make() -> bytes:
        return render_template("widget/board_result.html", **_context(site, lang), item=item,
                               canonical=_public_url(request.path, {"lang": lang if lang != "vi" else None}),
                               ).encode()

    return _html(cached(f"result|{site.key}|{lang}|{result_id}", make, "text/html; charset=utf-8"))


@bp.get("/p/<site_key>/feed.atom")
def board_feed(site_key: str) -> Response:
    """The latest published results as an Atom feed (RFC 4287), with the board's filters."""
    site = _require(site_key)
    query = listing.parse(request.args, also=PAGE_ARGS)  # a bad filter: plain 400, feed readers retry
    latest = listing.Query(**{**query.__dict__, "page": 1, "per_page": feed.ENTRIES})

    def make() -> bytes:
        found = listing.search(latest)
        return feed.atom(
            found["items"], title=f"{i18n.catalogue('vi')['board']['title']} · {site.name}",
            self_url=_public_url(request.path, _filters(query)),
            board_url=_public_url(url_for("pages.board", site_key=site.key), _filters(query)),
            entry_url=lambda rid: _public_url(url_for("pages.board_result", site_key=site.key, result_id=rid)),
            feed_id=_public_url(url_for("pages.board", site_key=site.key)) + "#atom",
            author=site.name)

    return cached(f"feed|{site.key}|{latest.key()}", make, "application/atom+xml; charset=utf-8")


@bp.get("/p/<site_key>/scoreboard")
def board_scoreboard(site_key: str) -> Response:
    """The scoreboard as a page: agencies ranked by on-time rate, with their numbers."""
    return _scoreboard(site_key, framed=False)


@bp.get("/w/<site_key>/scoreboard")
def frame_scoreboard(site_key: str) -> Response:
    """The scoreboard variant, framed in a news page's slot."""
    return _scoreboard(site_key, framed=True)


def _scoreboard(site_key: str, *, framed: bool) -> Response:
    site = _require(site_key)
    lang = request_lang(fallback=site.locale)
    parent = parent_origin(site) if framed else None
    try:
        _site, since, until = scoreboard.parse(request.args.to_dict(), also=FRAME_ARGS)
    except DomainError:
        _site, since, until = scoreboard.parse({})

    def make() -> bytes:
        return render_template(
            "widget/board_scoreboard.html", **_context(site, lang), framed=framed, parent_origin=parent,
            score=scoreboard.compute(None, since, until),
            board_url=_public_url(url_for("pages.board", site_key=site.key)),
            canonical=_public_url(url_for("pages.board_scoreboard", site_key=site.key))).encode()

    resp = cached(f"score|{site.key}|{lang}|{framed}|{parent}|{since}|{until}", make, "text/html; charset=utf-8")
    return _html(resp, framed_by=frame_ancestors(site) if framed else "'none'")


@bp.get("/w/<site_key>/results")
def frame_results(site_key: str) -> Response:
    """The results variant: the latest answers, filterable, framed in a news page's slot."""
    site = _require(site_key)
    lang = request_lang(fallback=site.locale)
    parent = parent_origin(site)
    query, problem = _parse(site, FRAME_ARGS)
    query = listing.Query(**{**query.__dict__, "per_page": FRAME_ITEMS})

    def make() -> bytes:
        return render_template(
            "widget/board_frame.html", **_context(site, lang), parent_origin=parent, query=query,
            found=listing.search(query), filters=_filters(query), problem=problem,
            options=_options(listing.facets(), listing.present()),
            board_url=_public_url(url_for("pages.board", site_key=site.key)),
            keep={"lang": lang, "origin": parent} if parent else {"lang": lang}).encode()

    resp = cached(f"frame|{site.key}|{lang}|{parent}|{problem}|{query.key()}", make, "text/html; charset=utf-8")
    return _html(resp, framed_by=frame_ancestors(site))
