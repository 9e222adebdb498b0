"""Public answers that every reader gets alike: made once per version of the results, ETag'd,
and cacheable by browsers and CDNs for ``RESULTS_MAX_AGE`` seconds (default 60)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Response, current_app, request

from widget_server.results.cache import public_cache
from widget_server.web import compress


class _Answer:
    """One version of an answer: its bytes, an ETag made from them, and its compressed copies,
    made when first asked for. Kept as one cache entry, so a copy and an ETag can only ever be
    served with the bytes they were made from, even when a result changes while it renders."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.etag = hashlib.sha256(body).hexdigest()[:32]
        self._encoded: dict[str, bytes] = {}

    def encoded(self, name: str) -> bytes:
        found = self._encoded.get(name)
        if found is None:
            found = self._encoded[name] = compress.encode(self.body, name)
        return found


def cached(key: str, make: Callable[[], bytes], mimetype: str, *, cors: bool = False,
           status: int = 200) -> Response:
    """``make()``'s bytes, or 304 when the reader already holds them.

    Every such answer (pages, JSON, GeoReport's XML, the Atom feed) is compressed once per
    version and encoding, as the reader accepts it (``compress.py``), not on every answer; each
    encoding has its own ETag, as a strong validator must. They hold the public record only, no
    secret a length could betray. An answer of another ``status`` (a board's 400 for a bad
    filter) is sent whole, never as a 304, which would stand for a 200's body."""
    answer = public_cache().get(f"{key}|{mimetype}", lambda: _Answer(make()))
    body, etag = answer.body, answer.etag
    chosen = compress.encoding(len(body))
    if chosen is not None:
        body = answer.encoded(chosen)
        etag = f"{etag}-{chosen}"
    if status == 200 and request.if_none_match.contains_weak(etag):
        resp = Response(status=304)
    else:
        # As given: werkzeug adds a charset to a text/* ``mimetype``, a second one here.
        resp = Response(body, status=status, content_type=mimetype)
        if chosen is not None:
            resp.headers["Content-Encoding"] = chosen
    resp.vary.add("Accept-Encoding")
    resp.set_etag(etag)
    max_age = int(current_app.config.get("RESULTS_MAX_AGE", 60))
    # Public for everyone, never personal; revalidated after max-age, so a withdrawal
    # reaches a CDN's copy within it.
    resp.headers["Cache-Control"] = f"public, max-age={max_age}, stale-if-error=600"
    if cors:
        resp.headers["Access-Control-Allow-Origin"] = "*"  # the public record, readable by any page
    return resp
