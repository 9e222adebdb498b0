"""Status labels, read from the widget's i18n catalogues (``static/widget/i18n/*.json``).

One source for the API's ``status_label``, the pages and the form's scripts:
Vietnamese first, English second.
"""

from __future__ import annotations

import json
from functools import lru_cache

LANGS = ("vi", "en")


@lru_cache(maxsize=len(LANGS))
def _statuses(lang: str) -> dict[str, str]:
    from widget_server.web.assets import widget_dir

    with open(widget_dir() / "i18n" / f"{lang}.json", encoding="utf-8") as fh:
        return dict(json.load(fh)["statuses"])


def status_label(status: str, lang: str = "vi") -> str:
    labels = _statuses(lang if lang in LANGS else "vi")
    return labels.get(status) or _statuses("vi").get(status) or status
