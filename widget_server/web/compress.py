"""HTML pages compressed on the way out: brotli when the reader accepts it and the
``brotli`` package is installed, else gzip, else as they are (``Accept-Encoding``).

The widget's static files come precompressed from ``assets.py``, and the public answers made
once per version of the results (pages, the results API's JSON, GeoReport, the feed) are
compressed once too (``web/public.py``): they already carry ``Content-Encoding`` and are left
alone here. Other JSON answers are not touched: they are short, or personal (a status lookup).

Why this is safe from BREACH-style length guessing: the pages reflect request values
(``?u=``, ``?src=``, ``?code=``), but the only secrets beside them are the CSP style
nonce and the form token, both new in every response, and a form token is no secret
of the reader's (anyone gets one by loading the page). Personal data appears only in
answers to a POST carrying the reader's own contact, which another site cannot make.
"""

from __future__ import annotations

import functools
import gzip
from typing import Any

from flask import Flask, Response, request

# Below this the headers outweigh the saving.
MIN_BYTES = 1024
# Pages are rendered per request: fast levels, most of the gain.
GZIP_LEVEL = 6
BROTLI_QUALITY = 5


@functools.cache
def _brotli() -> Any:
    try:
        import brotli  # type: ignore[import-untyped]
    except ImportError:  # optional at run time; gzip always works
        return None
    return brotli


def brotli_available() -> bool:
    return _brotli() is not None


def encoding(size: int) -> str | None:
    """How this request's reader gets a body of ``size`` bytes: ``br`` when it accepts brotli
    and the package is installed, else ``gzip`` when accepted, else None (nor when too short)."""
    if size < MIN_BYTES or not request.headers.get("Accept-Encoding"):
        return None
    accepted = request.accept_encodings
    if accepted["br"] and brotli_available():
        return "br"
    return "gzip" if accepted["gzip"] else None


def encode(body: bytes, name: str) -> bytes:
    """``body`` in the encoding ``encoding`` chose."""
    if name == "br":
        return _brotli().compress(body, quality=BROTLI_QUALITY)  # type: ignore[no-any-return]
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


def compress(resp: Response) -> Response:
    if (resp.mimetype != "text/html" or resp.direct_passthrough or resp.is_streamed
            or "Content-Encoding" in resp.headers or not 200 <= resp.status_code < 600
            or resp.status_code in (204, 304)):
        return resp
    # Whatever this answer turns out to be, it depends on Accept-Encoding.
    resp.vary.add("Accept-Encoding")
    if not request.headers.get("Accept-Encoding"):
        return resp  # nothing to choose from: not even the body needs joining
    body = resp.get_data()
    chosen = encoding(len(body))
    if chosen is None:
        return resp
    resp.set_data(encode(body, chosen))
    resp.headers["Content-Encoding"] = chosen
    return resp


def init_app(app: Flask) -> None:
    app.after_request(compress)
