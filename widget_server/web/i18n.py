"""The language of the current request (``?lang=``, the form's ``lang``, a site's locale, Accept-Language)."""

from __future__ import annotations

from flask import request

from widget_server import i18n


def request_lang(fallback: str | None = None) -> str:
    return i18n.negotiate(request.values.get("lang"), fallback=fallback, accept=request.accept_languages)
