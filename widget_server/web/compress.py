"""HTML pages compressed on the way out: brotli when the reader accepts it and the
``brotli`` package is installed, else gzip, else as they are (``Accept-Encoding``).

The widget's static files come precompressed from ``assets.py`` (they already carry
``Content-Encoding`` and are left alone here); JSON answers are not touched.

Why this is safe from BREACH-style length guessing: the pages reflect request values
(``?u=``, ``?src=``, ``?code=``), but the only secrets beside them are the CSP style
nonce and the form token, both new in every response, and a form token is no secret
of the reader's (anyone gets one by loading the page). Personal data appears only in
answers to a POST carrying the reader's own contact, which another site cannot make.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

# Below this the headers outweigh the saving.
MIN_BYTES = 1024
# Pages are rendered per request: fast levels, most of the gain.
GZIP_LEVEL = 6
BROTLI_QUALITY = 5


def _brotli(body: bytes) -> bytes | None:
    try:
        import brotli  # type: ignore[import-untyped]
    except ImportError:  # optional at run time; gzip always works
        return None
    return brotli.compress(body, quality=BROTLI_QUALITY)


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
    if len(body) < MIN_BYTES:
        return resp
    accepted = request.accept_encodings
    data, encoding = None, None
    if accepted["br"]:
        data, encoding = _brotli(body), "br"
    if data is None and accepted["gzip"]:
        data, encoding = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0), "gzip"
    if data is None or encoding is None:
        return resp
    resp.set_data(data)
    resp.headers["Content-Encoding"] = encoding
    return resp


def init_app(app: Flask) -> None:
    app.after_request(compress)
