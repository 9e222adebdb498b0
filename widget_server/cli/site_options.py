"""``sites add`` and ``sites set``: their options checked before anything is stored."""

from __future__ import annotations

import json
from typing import Any

import click

from widget_server.intake import reference


def theme(raw: str) -> dict[str, Any]:
    """--theme: a JSON object, as every reader of a site takes it (a list would break the site)."""
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise click.UsageError(f"--theme: {exc}") from exc
    if not isinstance(value, dict):
        raise click.UsageError('--theme: một đối tượng JSON, ví dụ {"accent": "#b00020"}. / '
                               'A JSON object, e.g. {"accent": "#b00020"}.')
    return value


def offered(categories: tuple[str, ...], agencies: tuple[str, ...]) -> None:
    """--category and --agency name codes of the current lists (``reference show``): a site
    offered only unknown codes would have a form with nothing to choose."""
    for option, kind, codes in (("--category", "categories", categories), ("--agency", "agencies", agencies)):
        unknown = reference.unknown_codes(kind, list(codes))
        if unknown:
            raise click.UsageError(
                f"{option}: không có mã {', '.join(unknown)} trong danh sách hiện tại (xem "
                f"`phanhoi-widget reference show`). / No such code in the current list.")


def unlisted() -> list[str]:
    """A line for each site whose --category or --agency names codes the current lists lack
    (after ``reference sync``): those codes offer nothing; a site with none left offers all."""
    from widget_server.intake import sites

    lines = []
    for site in sites.list_sites():
        for option, kind in (("--category", "categories"), ("--agency", "agencies")):
            gone = reference.unknown_codes(kind, getattr(site, kind) or [])
            if gone:
                lines.append(f"{site.key} ({site.name}): {option} {', '.join(gone)} không còn trong "
                             "danh sách. / No longer listed: `sites set` to choose again.")
    return lines
