"""What an operator types for a site (``sites add``, ``sites set``), checked before it is stored:
a theme that is not a JSON object, an empty name or a mistyped category or agency code was
saved, and then the site's config, its form or every list of sites failed."""

from __future__ import annotations

import json
from typing import Any

import click


def theme(text: str) -> dict[str, Any]:
    """``--theme``: a JSON object."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.UsageError(f'--theme: không phải JSON hợp lệ ({exc}); ví dụ {{"accent": "#b00020"}}, '
                               "trong dấu nháy đơn. / not valid JSON") from exc
    if not isinstance(value, dict):
        raise click.UsageError('--theme: giao diện là một đối tượng JSON, ví dụ {"accent": "#b00020"}. / '
                               "the theme is a JSON object")
    return value


def name(text: str) -> str:
    """``--name``: not empty."""
    if not text.strip():
        raise click.UsageError("--name: trang cần có tên. / a site needs a name")
    return text.strip()


def known_codes(option: str, given: tuple[str, ...], kind: str) -> None:
    """Codes of the current reference lists only: a mistyped one left a form with nothing to choose."""
    from widget_server.intake import reference

    unknown = reference.unknown_codes(kind, list(given))
    if unknown:
        known = reference.listed_codes(kind)
        raise click.UsageError(f"{option}: không có mã {', '.join(unknown)}; các mã hiện có: {', '.join(known)}. "
                               f"/ unknown code(s); see `phanhoi-widget reference show`.")


def unlisted() -> list[str]:
    """A line for each site whose --category or --agency names codes the current lists lack
    (after ``reference sync``): those codes offer nothing; a site with none left offers all."""
    from widget_server.intake import reference, sites

    lines = []
    for site in sites.list_sites():
        for option, kind in (("--category", "categories"), ("--agency", "agencies")):
            gone = reference.unknown_codes(kind, getattr(site, kind) or [])
            if gone:
                lines.append(f"{site.key} ({site.name}): {option} {', '.join(gone)} không còn trong "
                             "danh sách. / No longer listed: `sites set` to choose again.")
    return lines
