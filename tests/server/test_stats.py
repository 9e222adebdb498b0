"""Aggregate figures for the province's reporting: computed from real submissions and events."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from phanhoi.webhooks import sign_headers
from tests.helpers import assert_problem
from widget_server import config
from widget_server.store import db
from widget_server.intake import submissions
from widget_server.vocab import VN_TIME


def _event(client, app, submission_id, status, sequence, **extra):
    body = json.dumps({"type": "submission.status_changed", "data": {
        "submission_id": submission_id, "status": status, "sequence": sequence, **extra}}).encode()
    secret = config.secret_list(app.config["CENTRAL_EVENTS_SECRET"])[0]
    r = client.post("/api/v1/central/events", data=body,
                    headers={**sign_headers(body, secret), "Content-Type": "application/json"})
    assert r.status_code == 200, r.get_json()


def _auth(site):
    return {"Authorization": f"Bearer {site[1]}"}


@pytest.fixture
def four(app, client, site, submission_body):
    """Four submissions: answered on time + rated, answered late, overdue in progress, rejected."""
    made = [submissions.create_submission(site[0], dict(submission_body), via="api", src=src)
            for src in ("tv", None, None, "print")]
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    _event(client, app, made[0]["id"], "answered", 1, answer="Đã xử lý.")
    client.post(f"/api/v1/submissions/{made[0]['tracking_code']}/rating",
                json={"contact": "0912345678", "satisfied": True})
    _event(client, app, made[1]["id"], "accepted", 1, deadline=past)
    _event(client, app, made[1]["id"], "answered", 2, answer="Trả lời muộn.")
    _event(client, app, made[2]["id"], "in_progress", 1, deadline=past)
    _event(client, app, made[3]["id"], "rejected", 1, note="Không thuộc phạm vi.")
    return made


def test_figures(client, site, four):
    r = client.get(f"/api/v1/sites/{site[0].key}/stats", headers=_auth(site))
    assert r.status_code == 200
    figures = r.get_json()
    assert figures["total"] == 4
    assert figures["answered"] == 2 and figures["on_time_rate"] == 0.5
    assert figures["in_progress"] == 1 and figures["overdue"] == 1
    assert figures["rejected"] == 1
    assert figures["rated"] == 1 and figures["satisfaction_rate"] == 1.0
    assert figures["by_channel"] == {"tv": 1, "api": 2, "print": 1}
    assert figures["by_category"] == {"moi-truong": 4}
    text = json.dumps(figures, ensure_ascii=False)
    assert "0912345678" not in text and "Lê Văn A" not in text


def test_since_filters_and_bad_dates_are_422(client, site, four):
    # Days are Vietnam's (``since`` is midnight there): from 17:00 UTC the machine's date is a day behind.
    today = dt.datetime.now(VN_TIME).date()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    assert client.get(f"/api/v1/sites/{site[0].key}/stats?since={tomorrow}", headers=_auth(site)).get_json()["total"] == 0
    assert client.get(f"/api/v1/sites/{site[0].key}/stats?since={today.isoformat()}",
                      headers=_auth(site)).get_json()["total"] == 4
    assert_problem(client.get(f"/api/v1/sites/{site[0].key}/stats?since=hôm-qua", headers=_auth(site)), 422)
    assert_problem(client.get("/api/v1/sites/pk_none/stats", headers=_auth(site)), 401)


def test_stats_command(runner, site, four):
    out = json.loads(runner.invoke(args=["stats", "--json"]).output)
    assert out["total"] == 4
    text = runner.invoke(args=["stats", "--site", site[0].key]).output
    assert "Đã trả lời:" in text and "50.0 %" in text
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.submissions)).scalar() == 4


@pytest.mark.parametrize("args", [("--until", "0001-01-01"), ("--until", "9999-12-31"), ("--since", "9999-12-31")])
def test_stats_command_days_outside_the_calendar_are_a_usage_error(runner, site, args):
    result = runner.invoke(args=["stats", *args])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output, result.output


def test_figures_need_the_sites_own_secret(app, client, site, four):
    from widget_server.intake import sites

    url = f"/api/v1/sites/{site[0].key}/stats"
    assert_problem(client.get(url), 401, "invalid-secret")
    assert_problem(client.get(url, headers={"Authorization": "Bearer sk_wrong"}), 401)
    _other, other_secret = sites.create_site("Báo khác", ["https://khac.example"])
    assert_problem(client.get(url, headers={"Authorization": f"Bearer {other_secret}"}), 401)
    r = client.get(url, headers=_auth(site))
    assert r.status_code == 200 and r.get_json()["total"] == 4
    assert r.headers["Cache-Control"].startswith("private")


def test_figures_are_cached(app, client, site, four, submission_body):
    url = f"/api/v1/sites/{site[0].key}/stats"
    assert client.get(url, headers=_auth(site)).get_json()["total"] == 4
    submissions.create_submission(site[0], dict(submission_body), via="api")
    assert client.get(url, headers=_auth(site)).get_json()["total"] == 4  # counted once per period
    app.config["STATS_CACHE_SECONDS"] = 0
    assert client.get(url, headers=_auth(site)).get_json()["total"] == 5


def test_figures_are_counted_from_an_index(app, client, site, four):
    """Every query of the figures reads one covering index, never the rows themselves."""
    engine = db.get_engine(app)
    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    from widget_server.intake import stats

    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM submissions" in statement:
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        stats.compute(site[0].id)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) == 3
    with engine.connect() as conn:
        for statement, parameters in statements:
            plan = " | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                        parameters).all())
            assert "COVERING INDEX ix_submissions_stats" in plan, (statement, plan)


def test_a_channel_is_named_as_in_the_reach_funnel(client, site, submission_body):
    """README (Reach): a submission's channel is its ``src``, else ``api`` for a partner's server,
    else ``web``; the SIPAS figures name channels the same way, not by the form that was used."""
    from widget_server.reach import funnel

    for via, src in (("form", None), ("page", None), ("api", None), ("page", "tv")):
        submissions.create_submission(site[0], dict(submission_body), via=via, src=src)
    figures = client.get(f"/api/v1/sites/{site[0].key}/stats", headers=_auth(site)).get_json()
    assert figures["by_channel"] == {"web": 2, "api": 1, "tv": 1}
    reach = funnel.compute([site[0].id])
    counted: dict[str, int] = {}
    for row in reach["rows"]:
        counted[row["channel"]] = counted.get(row["channel"], 0) + row["submissions"]
    assert counted == figures["by_channel"]


def test_since_is_a_day_in_vietnam_as_everywhere_else(client, site, submission_body):
    """`?since=2026-12-01` starts at 00:00 in Vietnam (17:00 UTC the day before), as the reach
    funnel's and the results API's days do; a day outside 1900–9998 is a 422 naming the range."""
    made = [submissions.create_submission(site[0], dict(submission_body), via="api") for _ in range(2)]
    with db.write() as conn:
        for row, at in zip(made, ("2026-11-30T16:59:00+00:00", "2026-11-30T17:01:00+00:00"), strict=True):
            conn.execute(sa.update(db.submissions).where(db.submissions.c.id == row["id"])
                         .values(submitted_at=dt.datetime.fromisoformat(at)))
    url = f"/api/v1/sites/{site[0].key}/stats"
    figures = client.get(url + "?since=2026-12-01", headers=_auth(site)).get_json()
    assert figures["total"] == 1  # 23:59 on 30 November in Vietnam is not in December
    for day in ("0001-01-01", "9999-12-31"):
        problem = assert_problem(client.get(f"{url}?since={day}", headers=_auth(site)), 422)
        assert "1900-01-01" in problem["errors"]["since"][0]
