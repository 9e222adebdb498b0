"""Categories and agencies the reference central system handles (published at
``GET /intake/v1/reference``; the relay uses them in place of its defaults).

The same lists the relay offers by default, from one source (``phanhoi.reference``):
the names a citizen picks in the widget are the names an operator reads here.
"""

from functools import lru_cache

from phanhoi.reference import AGENCIES as _AGENCIES
from phanhoi.reference import CATEGORIES as _CATEGORIES

CATEGORIES = [dict(c) for c in _CATEGORIES]
AGENCIES = [dict(a) for a in _AGENCIES]

AGENCY_NAMES = {a["code"]: a["name"] for a in AGENCIES}
CATEGORY_NAMES = {c["code"]: c["name"] for c in CATEGORIES}


@lru_cache(maxsize=512)
def commune_name(code: str | None) -> str | None:
    """The official name of a commune or ward (post-2025 code), or None when unknown."""
    if not code or not code.isdigit():
        return None
    try:
        from vietnam_provinces import Ward, WardCode

        return str(Ward.from_code(WardCode(int(code))).name)
    except (ImportError, ValueError, KeyError):
        return None
