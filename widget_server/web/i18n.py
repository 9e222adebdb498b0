"""The language of the current request (``?lang=``, the form's ``lang``, a site's locale, Accept-Language)."""

from __future__ import annotations

from functools import lru_cache

from flask import request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from widget_server import i18n

# Forms that carry a ``lang`` field (the no-JavaScript pages); a JSON body never does.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def request_lang(fallback: str | None = None) -> str:
    environ = request.environ
    # No query string, nothing to parse (a lookup's POST has none).
    asked = request.args.get("lang") if environ.get("QUERY_STRING") else None
    if asked is None and request.mimetype in _FORM_TYPES:
        asked = request.form.get("lang")
    # Cut to what a language tag and a browser's header need: the cache's keys stay small.
    return _negotiate(asked[:35] if asked else asked, fallback,
                      environ.get("HTTP_ACCEPT_LANGUAGE", "")[:256])


@lru_cache(maxsize=512)
def _negotiate(asked: str | None, fallback: str | None, accept: str) -> str:
    # Browsers send a handful of distinct Accept-Language headers: each is parsed once per process.
    return i18n.negotiate(asked, fallback=fallback,
                          accept=parse_accept_header(accept, LanguageAccept) if accept else None)
