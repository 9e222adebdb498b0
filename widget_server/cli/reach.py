"""The funnel in ``phanhoi-widget stats``: impressions → opens → submissions → answered → on time → satisfied."""

from __future__ import annotations

from typing import Any

import click

HEADERS = ("ngày/day", "site", "kênh/channel", "hiển thị", "mở", "gửi", "trả lời", "đúng hạn", "hài lòng")
COLUMNS = ("impressions", "opens", "submissions", "answered", "answered_on_time", "satisfied")


def echo_funnel(funnel: dict[str, Any]) -> None:
    """One line per site, channel and day, then the totals."""
    click.echo(f"\nPhễu / funnel {funnel['since']} … {funnel['until']} "
               "(hiển thị → mở → gửi → trả lời → đúng hạn → hài lòng)")
    widths = (10, 16, 12, 9, 6, 6, 8, 9, 8)
    click.echo(" ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)))
    for row in funnel["rows"]:
        cells = (row["day"], row["site"], row["channel"], *(str(row[c]) for c in COLUMNS))
        click.echo(" ".join(str(c)[:w].ljust(w) for c, w in zip(cells, widths, strict=True)))
    total = funnel["totals"]
    cells = ("tổng/total", "", "", *(str(total[c]) for c in COLUMNS))
    click.echo(" ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)))
