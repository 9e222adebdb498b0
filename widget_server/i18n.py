"""Languages: one catalogue loader and one negotiator.

The catalogues are the widget's JSON files (``static/widget/i18n/<lang>.json``),
read by the pages, the form's scripts and the API's ``status_label`` alike:
Vietnamese first, English second. A new language is one more JSON file there.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import widget_server

DEFAULT = "vi"


def catalogue_dir() -> Path:
    """``i18n/`` of the widget: inside the installed package, or in the source tree."""
    packaged = Path(widget_server.__file__).parent / "static" / "widget" / "i18n"
    if packaged.is_dir():
        return packaged
    return Path(widget_server.__file__).resolve().parent.parent / "static" / "widget" / "i18n"


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    """The languages there is a catalogue for, the default first."""
    found = sorted(p.stem for p in catalogue_dir().glob("*.json"))
    return tuple(sorted(found, key=lambda lang: lang != DEFAULT))


@lru_cache(maxsize=8)
def catalogue(lang: str) -> dict[str, Any]:
    """The whole catalogue of ``lang`` (the default language's when there is none)."""
    if lang not in languages():
        lang = DEFAULT
    with open(catalogue_dir() / f"{lang}.json", encoding="utf-8") as fh:
        return dict(json.load(fh))


def negotiate(asked: str | None, *, fallback: str | None = None, accept: Any = None) -> str:
    """The language to answer in: what was asked (``?lang=en``, ``en-GB``), else ``fallback`` (a
    site's locale), else the best of ``Accept-Language``, else Vietnamese."""
    known = languages()
    for candidate in (asked, fallback):
        if candidate:
            base = str(candidate).strip().lower().split("-")[0].split("_")[0]
            if base in known:
                return base
    if accept is not None:
        best = accept.best_match(list(known))
        if best:
            return str(best)
    return DEFAULT


def status_label(status: str, lang: str = DEFAULT) -> str:
    labels = catalogue(lang)["statuses"]
    return str(labels.get(status) or catalogue(DEFAULT)["statuses"].get(status) or status)
