"""Reach beacons and the funnel: counted per site, channel, event and hour, nothing about the reader kept."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from tests.helpers import assert_problem
from widget_server.intake import submissions
from widget_server.reach import beacons, funnel
from widget_server.store import db, operations

READER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
ORIGIN = "https://baothanhhoa.example"


@pytest.fixture(autouse=True)
def nothing_held_after(app):
    """Counts a test left in memory are written before its database goes away."""
    yield
    beacons.flush(app)


def _beacon(client, site_key, body, *, origin=ORIGIN, ua=READER):
    headers = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": ua}
    if origin:
        headers["Origin"] = origin
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(f"/api/v1/sites/{site_key}/beacon", data=data, headers=headers)


def _counters(app):
    beacons.flush(app)
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(sa.select(operations.reach_counters).order_by(
            operations.reach_counters.c.event, operations.reach_counters.c.channel)).all()]


def test_beacons_add_to_one_counter_row_per_hour(app, client, site):
    for _ in range(5):
        assert _beacon(client, site[0].key, {"e": "impression", "ch": "web"}).status_code == 204
    assert _beacon(client, site[0].key, {"e": "open", "ch": "tv"}).status_code == 204
    rows = _counters(app)
    assert [(r[1], r[2], r[4]) for r in rows] == [("web", "impression", 5), ("tv", "open", 1)]
    hour = rows[0][3]
    assert (hour.minute, hour.second, hour.microsecond) == (0, 0, 0)


def test_a_beacon_keeps_nothing_about_the_reader(app, client, site):
    _beacon(client, site[0].key, {"e": "impression"})
    r = _beacon(client, site[0].key, {"e": "open"})
    assert "Set-Cookie" not in r.headers
    columns = {c.name for c in operations.reach_counters.columns}
    assert columns == {"site_id", "channel", "event", "hour", "count"}


@pytest.mark.parametrize("ua", [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0 Safari/537.36",
    "facebookexternalhit/1.1",
    "curl/8.5.0",
    "",
])
def test_bots_are_answered_but_not_counted(app, client, site, ua):
    assert _beacon(client, site[0].key, {"e": "impression"}, ua=ua).status_code == 204
    assert _counters(app) == []


@pytest.mark.parametrize("origin", [None, "https://evil.example", "https://baothanhhoa.example.evil.test",
                                    "null"])
def test_unregistered_origins_are_refused_and_not_counted(app, client, site, origin):
    assert_problem(_beacon(client, site[0].key, {"e": "impression"}, origin=origin), 403, "origin-not-allowed")
    assert _counters(app) == []


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[]", {"e": "click"}, {"e": "impression", "ch": "TV"}, {"e": "impression", "ch": "a" * 33},
    {"e": "impression", "ch": 7}, b'{"e": "impression", "ch": "web", "pad": "' + b"x" * 300 + b'"}',
])
def test_malformed_beacons_change_nothing(app, client, site, body):
    assert_problem(_beacon(client, site[0].key, body), 422)
    assert _counters(app) == []


def test_unknown_site(client, site):
    assert_problem(_beacon(client, "pk_nothing", {"e": "impression"}), 404)


def test_a_flood_is_rate_limited_and_grows_nothing(app_config, site):
    from widget_server import create_app

    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "RATELIMIT_BEACON": "5 per minute"})
    client = app.test_client()
    answers = [_beacon(client, site[0].key, {"e": "impression"}).status_code for _ in range(8)]
    assert answers == [204] * 5 + [429] * 3
    with app.app_context():
        assert [(r[2], r[4]) for r in _counters(app)] == [("impression", 5)]
    db.get_engine(app).dispose()


def test_funnel_per_site_channel_and_day(app, client, site, submission_body):
    now = dt.datetime.now(dt.UTC)
    hour = beacons.hour_of(now)
    beacons.add(site[0].id, "web", "impression", hour, 10)
    beacons.add(site[0].id, "web", "open", hour, 4)
    beacons.add(site[0].id, "tv", "open", hour, 2)
    made = [submissions.create_submission(site[0], dict(submission_body), via="form", src=src)
            for src in (None, None, "tv")]
    with db.write() as conn:  # one answered on time and rated satisfied
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == made[0]["id"]).values(
            status="answered", answered_at=now, deadline=now + dt.timedelta(days=3), rated_at=now,
            rating_satisfied=True))
    figures = funnel.compute([site[0].id])
    day = funnel.vn_day(now)
    rows = {(r["day"], r["channel"]): r for r in figures["rows"]}
    web, tv = rows[(day, "web")], rows[(day, "tv")]
    assert [web[s] for s in funnel.STEPS] == [10, 4, 2, 1, 1, 1]
    assert [tv[s] for s in funnel.STEPS] == [0, 2, 1, 0, 0, 0]
    assert figures["totals"]["open_rate"] == 0.6
    assert figures["by_day"][-1]["submissions"] == 3 and len(figures["by_day"]) == 30


def test_stats_command_prints_the_funnel(app, runner, site):
    beacons.add(site[0].id, "print", "open", beacons.hour_of(dt.datetime.now(dt.UTC)), 3)
    out = runner.invoke(args=["stats", "--site", site[0].key]).output
    assert "Phễu / funnel" in out and "print" in out
    data = json.loads(runner.invoke(args=["stats", "--json"]).output)
    assert data["funnel"]["totals"]["opens"] == 3


def test_counts_are_held_briefly_then_written_together(app, client, site):
    app.config["REACH_FLUSH_SECONDS"] = 2.0  # the default; the test configuration writes at once
    for _ in range(3):
        _beacon(client, site[0].key, {"e": "open", "ch": "qr"})
    with db.read() as conn:  # nothing written yet: one transaction will carry all three
        assert conn.execute(sa.select(sa.func.count()).select_from(operations.reach_counters)).scalar() == 0
    buffer = app.extensions["phanhoi_reach_buffer"]
    assert buffer.timer is not None and buffer.timer.daemon
    buffer.timer.join(timeout=10)  # the timer writes them out by itself
    with db.read() as conn:
        assert conn.execute(sa.select(operations.reach_counters.c["count"])).scalar_one() == 3


def test_with_no_hold_each_beacon_is_written_at_once(app, client, site):
    assert app.config["REACH_FLUSH_SECONDS"] == 0  # as tests/conftest.py sets it
    _beacon(client, site[0].key, {"e": "open"})
    assert "phanhoi_reach_buffer" not in app.extensions
    with db.read() as conn:
        assert conn.execute(sa.select(operations.reach_counters.c["count"])).scalar_one() == 1


@pytest.mark.parametrize("src,ua,counted", [
    ("tv", READER, True), ("print", READER, True), ("TV!", READER, False),
    ("tv", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", False),
])
def test_a_qr_scan_opening_the_full_page_form_is_an_open_of_its_channel(app, client, site, src, ua, counted):
    r = client.get(f"/s/{site[0].key}?src={src}", headers={"User-Agent": ua})
    assert r.status_code == 200
    assert [(c[1], c[2], c[4]) for c in _counters(app)] == ([(src, "open", 1)] if counted else [])
