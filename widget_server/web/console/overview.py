"""The overview (the funnel and its trends, per site and channel) and the CSV export of the figures."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, g, request

from widget_server.accounts import audit
from widget_server.errors import InvalidError
from widget_server.reach import funnel
from widget_server.web.console import charts
from widget_server.web.console.auth import render, site_for, visible_sites
from widget_server.web.console.blueprint import bp

STEP_LABELS = ("Hiển thị · Impressions", "Mở biểu mẫu · Opens", "Gửi · Submissions",
               "Đã trả lời · Answered", "Đúng hạn · On time", "Hài lòng · Satisfied")


def _scope() -> tuple[list[int], dict[str, Any], str | None]:
    """The sites asked for (all this account may see, or one), the period, and any error."""
    chosen = request.args.get("site") or ""
    ids = [s.id for s in visible_sites()]
    if chosen:
        ids = [site_for(chosen).id]
    error = None
    try:
        since, until = funnel.parse_day(request.args.get("since")), funnel.parse_day(request.args.get("until"))
        if since and until and since > until:
            raise InvalidError("Từ ngày phải trước đến ngày. / 'From' must come before 'to'.")
        funnel.check_period(since, until)
    except InvalidError as exc:
        error, since, until = exc.message, None, None
    return ids, {"since": since, "until": until}, error


@bp.get("/")
def overview() -> Response:
    """The funnel, submissions and answers per day, on-time rate and satisfaction; each chart with its table."""
    ids, period, error = _scope()
    figures = funnel.compute(ids, period["since"], period["until"])
    total = figures["totals"]
    days = [d["day"] for d in figures["by_day"]]
    return render(
        "console/overview.html", 400 if error else 200, error=error, figures=figures,
        sites=visible_sites(), chosen=request.args.get("site") or "", steps=list(zip(
            STEP_LABELS, [total[s] for s in funnel.STEPS], strict=True)),
        funnel_chart=charts.funnel("c-funnel", "Phễu · Funnel", STEP_LABELS, [total[s] for s in funnel.STEPS]),
        daily_chart=charts.lines("c-daily", "Gửi và trả lời theo ngày · Submissions and answers per day", days, [
            ("Gửi · Submissions", [d["submissions"] for d in figures["by_day"]]),
            ("Đã trả lời · Answered", [d["answered"] for d in figures["by_day"]])]),
        rate_chart=charts.lines("c-rates", "Tỷ lệ đúng hạn và hài lòng · On-time and satisfaction rates", days, [
            ("Đúng hạn · On time", [d["on_time_rate"] for d in figures["by_day"]]),
            ("Hài lòng · Satisfied", [d["satisfaction_rate"] for d in figures["by_day"]])], percent=True),
    )


@bp.get("/export.csv")
def export() -> Response:
    """The funnel's figures per day, site and channel as CSV (aggregates only, nothing personal)."""
    ids, period, error = _scope()
    if error:
        return render("console/refused.html", 400, message="bad-period")
    figures = funnel.compute(ids, period["since"], period["until"])
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ("day", "site", "channel", *funnel.STEPS, "results_views", "rated")
    writer.writerow(columns)
    for row in figures["rows"]:
        writer.writerow([row[c] for c in columns])
    audit.record(g.user.email, "export", request.args.get("site") or "*",
                 site_id=ids[0] if len(ids) == 1 else None,
                 details={"since": figures["since"], "until": figures["until"]})
    name = f"phanhoi-{figures['since']}-{figures['until']}.csv"
    # A BOM so spreadsheet programs read the Vietnamese site names as UTF-8.
    return Response("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/audit")
def audit_page() -> Response:
    """The audit log: an admin sees everything, an editor their site's entries."""
    entries = audit.recent(site_id=None if g.user.is_admin else g.user.site_id, limit=200)
    return render("console/audit.html", entries=entries)
