"""The outbox: claiming, signing, retries, breaker, pause/disable, dead rows, leases.

The central system is faked with ``responses`` here; tests/e2e runs the same
paths against the real reference central system over loopback.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import responses
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from widget_server.store import db
from widget_server.delivery import queue as outbox
from widget_server.store import outbox as store_outbox
from widget_server.intake import submissions
from widget_server.delivery.destinations import Event, Result, UnknownDestinationError, build
from widget_server.delivery.destinations.central import CentralDestination, classify, parse_retry_after
from widget_server.delivery.worker import Worker

CENTRAL = "http://central.test"
INTAKE = CENTRAL + "/intake/v1/submissions"
EVENTS = CENTRAL + "/intake/v1/events"


@pytest.fixture
def no_wait(monkeypatch):
    """Retries come due at once, so a test can drive attempts with run_once()."""
    monkeypatch.setattr(outbox, "backoff", lambda attempt: 0.0)


@pytest.fixture
def submit(app, site, submission_body):
    def _submit():
        return submissions.create_submission(site[0], dict(submission_body), via="api")
    return _submit


def rows(app):
    with db.read(db.get_engine(app)) as conn:
        return {r.id: r for r in conn.execute(sa.select(db.outbox)).all()}


def only_row(app):
    [row] = rows(app).values()
    return row


def destination(app, name="central"):
    with db.read(db.get_engine(app)) as conn:
        return conn.execute(sa.select(db.destinations).where(db.destinations.c.name == name)).one()


def submission(app, submission_id):
    with db.read(db.get_engine(app)) as conn:
        return conn.execute(sa.select(db.submissions)
                            .where(db.submissions.c.id == submission_id)).one()


def ok(central_id="TH-1"):
    return responses.Response(responses.POST, INTAKE, json={"central_id": central_id,
                                                            "status": "received"}, status=201)


# --------------------------------------------------------------------------- delivery


@responses.activate
def test_delivery_is_signed_and_marks_forwarded(app, submit):
    created = submit()
    responses.add(ok("TH-2026-000001"))
    assert Worker(app, "w").run_once() == 1

    [call] = responses.calls
    headers = call.request.headers
    row = only_row(app)
    assert headers["webhook-id"] == row.id == headers["Idempotency-Key"]
    # The official Standard Webhooks library accepts what the relay signs.
    payload = Webhook(app.config["CENTRAL_SECRET"]).verify(call.request.body, dict(headers))
    assert payload["type"] == "submission.created"
    assert payload["data"]["id"] == created["id"]
    assert payload["data"]["tracking_code"] == created["tracking_code"]
    assert payload["data"]["submitter"]["phone"] == "+84912345678"
    assert dt.datetime.fromisoformat(payload["timestamp"]).tzinfo is not None

    assert row.state == "delivered" and row.attempts == 1 and row.last_status == 201
    stored = submission(app, created["id"])
    assert stored.status == "forwarded" and stored.central_id == "TH-2026-000001"
    assert stored.forwarded_at is not None


@responses.activate
def test_rotation_signs_with_every_secret(app, submit, whsec):
    old, new = whsec(), whsec()
    app.config["CENTRAL_SECRET"] = f"{old}, {new}"
    submit()
    responses.add(ok())
    Worker(app, "w").run_once()
    request = responses.calls[0].request
    assert len(request.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        Webhook(secret).verify(request.body, dict(request.headers))


@responses.activate
def test_retry_keeps_the_id_and_signs_with_a_fresh_timestamp(app, submit, no_wait, monkeypatch):
    import phanhoi.webhooks

    clock = iter([1_900_000_000, 1_900_000_007])

    class FakeTime:
        @staticmethod
        def time():
            return next(clock)

    monkeypatch.setattr(phanhoi.webhooks, "time", FakeTime)
    submit()
    responses.add(responses.POST, INTAKE, status=500)
    responses.add(ok())
    worker = Worker(app, "w")
    worker.run_once()
    worker.run_once()
    first, second = (c.request.headers for c in responses.calls)
    assert first["webhook-id"] == second["webhook-id"]
    assert (first["webhook-timestamp"], second["webhook-timestamp"]) == ("1900000000",
                                                                         "1900000007")
    row = only_row(app)
    assert row.state == "delivered" and row.attempts == 2


@responses.activate
def test_other_events_go_to_the_events_endpoint_after_the_submission(app, submit, no_wait):
    created = submit()
    with db.write() as conn:
        store_outbox.enqueue(conn, destination="central", event_type="submission.rated",
                       submission_id=created["id"],
                       data={"submission_id": created["id"], "satisfied": True},
                       at=db.utcnow() + dt.timedelta(milliseconds=1))
    responses.add(responses.POST, INTAKE, status=503)
    responses.add(ok())
    responses.add(responses.POST, EVENTS, json={"central_id": "TH-1", "status": "received"})
    worker = Worker(app, "w")
    worker.run_once()  # the submission fails; the rating must not overtake it
    assert [c.request.url for c in responses.calls] == [INTAKE]
    worker.run_once()
    worker.run_once()
    assert [c.request.url for c in responses.calls] == [INTAKE, INTAKE, EVENTS]
    body = json.loads(responses.calls[2].request.body)
    assert body["type"] == "submission.rated" and body["data"]["satisfied"] is True
    assert {r.state for r in rows(app).values()} == {"delivered"}


@responses.activate
def test_no_personal_data_in_logs(app, submit, no_wait, caplog):
    submit()
    responses.add(responses.POST, INTAKE, status=500,
                  json={"title": "bad", "detail": "Lê Văn A 0912345678"})
    responses.add(ok())
    with caplog.at_level(logging.DEBUG):
        worker = Worker(app, "w")
        worker.run_once()
        worker.run_once()
    text = caplog.text + str(only_row(app).last_error)
    for secret in ("Lê Văn A", "0912345678", "+84912345678", "Cổng chợ"):
        assert secret not in text


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0),
    ("0", 0.0),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),  # now is pinned 30 s before
    ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
    ("99999", 3600.0),  # capped
    ("soon", None),
    ("", None),
    (None, None),
])
def test_retry_after(value, expected):
    now = dt.datetime(2015, 10, 21, 7, 27, 30, tzinfo=dt.UTC).timestamp()
    assert parse_retry_after(value, now=now) == expected


def test_backoff_grows_and_is_jittered():
    for attempt in range(1, 16):
        ceiling = min(outbox.BACKOFF_CAP, outbox.BACKOFF_BASE * 2 ** (attempt - 1))
        values = {outbox.backoff(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= v <= ceiling for v in values)
        assert len(values) > 1
    assert outbox.backoff(40) <= outbox.BACKOFF_CAP


@pytest.mark.parametrize(("status", "outcome"), [
    (200, "delivered"), (201, "delivered"), (202, "delivered"),
    (401, "pause"), (403, "pause"), (410, "disable"),
    (408, "retry"), (409, "retry"), (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry"),
    (400, "rejected"), (404, "rejected"), (413, "rejected"), (422, "rejected"),
])
def test_status_classification(status, outcome):
    assert classify(status) == outcome


@responses.activate
def test_429_retry_after_delays_the_row_and_the_destination(app, submit):
    submit()
    submit()
    responses.add(responses.POST, INTAKE, status=429, headers={"Retry-After": "120"})
    before = db.utcnow()
    # One at a time, the answer halts the batch before its second row (a pool: test_pool.py).
    assert Worker(app, "w", concurrency=1).run_once() == 1  # the second row is given back, not tried
    waiting = sorted(rows(app).values(), key=lambda r: r.next_attempt_at)
    assert [r.attempts for r in waiting] == [0, 1]
    assert waiting[1].next_attempt_at >= before + dt.timedelta(seconds=119)
    assert destination(app).open_until >= before + dt.timedelta(seconds=119)
    assert Worker(app, "w").run_once() == 0
    assert len(responses.calls) == 1


@responses.activate
def test_timeouts_and_refused_connections_are_retried(app, submit, no_wait):
    import requests

    submit()
    responses.add(responses.POST, INTAKE, body=requests.ReadTimeout("slow"))
    responses.add(responses.POST, INTAKE, body=requests.ConnectionError("refused"))
    responses.add(ok())
    worker = Worker(app, "w")
    for _ in range(3):
        worker.run_once()
    row = only_row(app)
    assert row.state == "delivered" and row.attempts == 3


@responses.activate
def test_other_4xx_is_dead_at_once(app, submit):
    submit()
    responses.add(responses.POST, INTAKE, status=422, json={"title": "Thiếu trường"})
    Worker(app, "w").run_once()
    row = only_row(app)
    assert row.state == "dead" and row.last_status == 422
    assert row.last_error == "HTTP 422: Thiếu trường"


@responses.activate
def test_the_central_systems_error_title_is_kept_without_personal_data(app, site, submission_body, runner):
    body = {**submission_body, "submitter": {"name": "Lê Văn A", "phone": "0912345678",
                                             "email": "le.van.a@gmail.com"}}
    submissions.create_submission(site[0], body, via="api")
    responses.add(responses.POST, INTAKE, status=422, json={
        "title": "Số điện thoại +84912345678 của Lê Văn A (LE VAN A), CCCD 038090001234, "
                 "email le.van.a@gmail.com, địa chỉ Cổng chợ Vườn Hoa: không hợp lệ theo mẫu 05/2026"})
    Worker(app, "w").run_once()
    row = only_row(app)
    assert row.state == "dead"
    assert row.last_error == ("HTTP 422: Số điện thoại … của … (…), CCCD …, email …, địa chỉ …: "
                              "không hợp lệ theo mẫu 05/2026")
    for shown in (runner.invoke(args=["outbox", "list", "--state", "dead"]).output,
                  runner.invoke(args=["outbox", "list", "--state", "dead", "--json"]).output):
        for secret in ("912345678", "Lê Văn A", "LE VAN A", "le.van.a", "038090001234", "Vườn Hoa"):
            assert secret not in shown


def test_an_error_title_is_masked_like_open311_errors():
    import requests

    from widget_server.delivery.destinations.http import problem_title
    from widget_server.delivery.destinations.open311 import georeport_errors

    said = "Phone (+84) 912 345 678 or le.van.a [at] gmail.com is invalid"
    response = requests.Response()
    response.status_code = 400
    response.headers["Content-Type"] = "application/problem+json"
    response._content = json.dumps({"title": said}).encode()
    assert problem_title(response) == ": Phone … or … is invalid"
    response._content = json.dumps([{"code": 400, "description": said}]).encode()
    assert georeport_errors(response) == [{"code": "400", "description": "Phone … or … is invalid"}]


# --------------------------------------------------------------------------- breaker


@responses.activate
def test_breaker_opens_stops_attempts_and_closes_after_a_trial(app, submit, no_wait):
    app.config.update(BREAKER_THRESHOLD=3, BREAKER_COOLDOWN_SECONDS=60)
    for _ in range(5):
        submit()
    responses.add(responses.POST, INTAKE, status=500)
    worker = Worker(app, "w", batch=1)
    for _ in range(6):
        worker.run_once()
    assert len(responses.calls) == 3  # then the breaker is open
    dest = destination(app)
    assert dest.failures == 3 and dest.open_until > db.utcnow() + dt.timedelta(seconds=50)
    # Rows are not charged while the breaker is open.
    assert sum(r.attempts for r in rows(app).values()) == 3

    # Cooldown over: exactly one trial goes through, even for a big batch.
    with db.write() as conn:
        conn.execute(sa.update(db.destinations).values(open_until=db.utcnow()))
    responses.replace(responses.POST, INTAKE, json={"central_id": "TH-1", "status": "received"})
    assert Worker(app, "w2", batch=10).run_once() == 1
    dest = destination(app)
    assert dest.failures == 0 and dest.open_until is None
    Worker(app, "w2", batch=10).run_once()
    assert {r.state for r in rows(app).values()} == {"delivered"}


@responses.activate
def test_failed_trial_reopens_the_breaker(app, submit, no_wait):
    app.config.update(BREAKER_THRESHOLD=1, BREAKER_COOLDOWN_SECONDS=60)
    submit()
    responses.add(responses.POST, INTAKE, status=502)
    Worker(app, "w").run_once()
    with db.write() as conn:
        conn.execute(sa.update(db.destinations).values(open_until=db.utcnow()))
    assert Worker(app, "w").run_once() == 1
    assert destination(app).open_until > db.utcnow() + dt.timedelta(seconds=50)
    assert Worker(app, "w").run_once() == 0


# --------------------------------------------------------------------------- pause, disable


@responses.activate
def test_401_pauses_until_an_operator_resumes(app, submit, runner):
    submit()
    responses.add(responses.POST, INTAKE, status=401, json={"title": "Sai chữ ký"})
    Worker(app, "w").run_once()
    dest = destination(app)
    assert dest.state == "paused" and dest.reason == "HTTP 401: Sai chữ ký"
    row = only_row(app)
    assert row.state == "pending" and row.attempts == 0
    assert Worker(app, "w").run_once() == 0
    listing = runner.invoke(args=["outbox", "list"])
    assert "central: paused (HTTP 401: Sai chữ ký)" in listing.output

    result = runner.invoke(args=["outbox", "resume"])
    assert result.exit_code == 0 and "central: active" in result.output
    responses.replace(responses.POST, INTAKE, json={"central_id": "TH-1", "status": "received"})
    assert Worker(app, "w").run_once() == 1
    assert only_row(app).state == "delivered"
    # A pending row says when it is tried next; a delivered one when it was delivered, no "next".
    assert " next=" in listing.output
    [line] = [x for x in runner.invoke(args=["outbox", "list"]).output.splitlines() if "msg_" in x]
    assert " delivered=" in line and " next=" not in line, line


@responses.activate
def test_410_disables_the_destination(app, submit, runner):
    submit()
    submit()
    responses.add(responses.POST, INTAKE, status=410)
    assert Worker(app, "w", concurrency=1).run_once() == 1
    assert destination(app).state == "disabled"
    assert Worker(app, "w").run_once() == 0
    assert all(r.state == "pending" and r.attempts == 0 for r in rows(app).values())
    assert "central: disabled" in runner.invoke(args=["outbox", "list"]).output
    assert runner.invoke(args=["outbox", "resume", "central"]).exit_code == 0
    assert destination(app).state == "active"


def test_resume_names_an_unknown_destination(app, runner):
    """A mistyped name is a usage error listing the destinations, not "Nothing was paused"."""
    result = runner.invoke(args=["outbox", "resume", "centrl"])
    assert result.exit_code == 2
    assert "'centrl' is not one of" in result.output and "'central'" in result.output


# --------------------------------------------------------------------------- dead rows


@responses.activate
def test_dead_after_max_attempts_listed_and_replayed(app, submit, no_wait, runner):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    created = submit()
    responses.add(responses.POST, INTAKE, status=500)
    worker = Worker(app, "w")
    worker.run_once()
    worker.run_once()
    assert worker.run_once() == 0
    row = only_row(app)
    assert row.state == "dead" and row.attempts == 2

    result = runner.invoke(args=["outbox", "list", "--state", "dead", "--json"])
    assert result.exit_code == 0, result.output
    [listed] = json.loads(result.output)
    assert listed["id"] == row.id and listed["tracking_code"] == created["tracking_code"]
    assert listed["last_status"] == 500
    assert "Lê Văn A" not in result.output
    text = runner.invoke(args=["outbox", "list", "--state", "dead"]).output
    assert row.id in text and created["tracking_code"] in text
    assert json.loads(runner.invoke(args=["outbox", "list", "--state", "delivered",
                                          "--json"]).output) == []

    assert runner.invoke(args=["outbox", "retry"]).exit_code != 0
    result = runner.invoke(args=["outbox", "retry", "--all-dead"])
    assert result.exit_code == 0 and "1" in result.output
    assert only_row(app).state == "pending" and only_row(app).attempts == 0
    responses.replace(responses.POST, INTAKE, json={"central_id": "TH-1", "status": "received"})
    assert worker.run_once() == 1
    assert only_row(app).state == "delivered"
    assert submission(app, created["id"]).status == "forwarded"


@responses.activate
def test_retry_by_id(app, submit, runner):
    submit()
    responses.add(responses.POST, INTAKE, status=400)
    Worker(app, "w").run_once()
    row_id = only_row(app).id
    result = runner.invoke(args=["outbox", "retry", row_id, "msg_unknown"])
    assert result.exit_code == 1 and "1 row(s) queued again" in result.output  # a typo fails a script
    assert "msg_unknown: không có bản ghi này" in result.output  # named, not silently counted out
    assert only_row(app).state == "pending"
    responses.replace(responses.POST, INTAKE, json={"central_id": "TH-1", "status": "received"})
    Worker(app, "w").run_once()
    result = runner.invoke(args=["outbox", "retry", row_id])
    assert f"{row_id}: delivered, không xếp lại" in result.output and only_row(app).state == "delivered"
    assert result.exit_code == 0  # nothing left to do is not an error


def test_a_row_a_worker_is_sending_is_not_taken_back_by_a_retry(app, submit, runner, client):
    """Cleared, its lease would let another worker claim the row and send it a second time
    while the first is still sending it."""
    submit()
    engine = db.get_engine(app)
    [claimed] = outbox.claim(engine, "w1", outbox.Policy.from_config(app.config))
    result = runner.invoke(args=["outbox", "retry", claimed.id])
    assert "0 row(s) queued again" in result.output and f"{claimed.id}: đang được gửi" in result.output
    row = only_row(app)
    assert row.lease_owner == "w1" and row.lease_until is not None and row.attempts == 1
    assert outbox.claim(engine, "w2", outbox.Policy.from_config(app.config)) == []
    assert outbox.retry_rows(engine, [claimed.id]) == 0  # the console's replay takes the same way


@responses.activate
def test_dead_after_the_retry_window(app, site, submission_body):
    long_ago = db.utcnow() - dt.timedelta(hours=73)
    with db.write() as conn:
        store_outbox.enqueue(conn, destination="central", event_type="submission.created",
                       data={"id": "x"}, at=long_ago)
    responses.add(responses.POST, INTAKE, status=503)
    Worker(app, "w").run_once()
    row = only_row(app)
    assert row.state == "dead" and row.attempts == 1


# --------------------------------------------------------------------------- leases


def test_lease_keeps_others_away_until_it_expires(app, submit):
    created = submit()
    engine = db.get_engine(app)
    policy = outbox.Policy.from_config(app.config)
    now = db.utcnow()
    [mine] = outbox.claim(engine, "a", policy, now=now)
    assert mine.attempts == 1 and mine.event().id == mine.id
    assert outbox.claim(engine, "b", policy, now=now + dt.timedelta(seconds=59)) == []
    # "a" died without recording: its row is due again once the lease ends.
    [theirs] = outbox.claim(engine, "b", policy, now=now + dt.timedelta(seconds=61))
    assert theirs.id == mine.id and theirs.attempts == 2
    # A late failure from "a" must not undo "b"'s lease ...
    late = outbox.record(engine, mine, Result("retry", status=500), "a", policy)
    assert late.state == "lost"
    assert only_row(app).lease_owner == "b"
    # ... and "b"'s success marks the row and the submission.
    from widget_server.delivery.worker import record_delivery

    done = outbox.record(engine, theirs, Result("delivered", status=201, remote_id="TH-9"), "b",
                         policy, on_delivered=record_delivery)
    assert done.state == "delivered"
    assert submission(app, created["id"]).central_id == "TH-9"


def test_release_gives_rows_back_uncharged(app, submit):
    submit()
    engine = db.get_engine(app)
    policy = outbox.Policy.from_config(app.config)
    claimed = outbox.claim(engine, "a", policy)
    outbox.release(engine, claimed, "a")
    row = only_row(app)
    assert row.attempts == 0 and row.lease_owner is None
    assert len(outbox.claim(engine, "b", policy)) == 1


# --------------------------------------------------------------------------- adapters


def test_destination_registry(app):
    assert isinstance(build("central", app.config), CentralDestination)
    with pytest.raises(UnknownDestinationError):
        build("fixmystreet", app.config)
    with pytest.raises(ValueError):  # known, but PHANHOI_OPEN311_URL is not set
        build("open311", app.config)
    with pytest.raises(ValueError):
        build("central", {**app.config, "CENTRAL_SECRET": None})


@responses.activate
def test_unconfigured_destination_is_retried_not_lost(app, submit, no_wait):
    submit()
    with db.write() as conn:
        conn.execute(sa.update(db.outbox).values(destination="fixmystreet"))
    Worker(app, "w").run_once()
    row = only_row(app)
    assert row.state == "pending" and "not configured" in row.last_error
    assert len(responses.calls) == 0


def test_event_and_result_shapes():
    event = Event(id="msg_1", type="submission.created", data={"id": "s"})
    assert event.attempt == 1
    assert Result("delivered", status=201).ok and not Result("retry").ok


def test_an_operator_finds_dead_rows_through_their_own_index(app):
    """The rows every submission writes (pending) enter no index of dead ones; the operator's
    list and replay of dead rows still read an index, not the whole table (SQLite's plan)."""
    engine = db.get_engine(app)
    if engine.dialect.name != "sqlite":
        pytest.skip("the plan of SQLite's query planner")
    plans = []

    def record(conn, cursor, statement, params, *_):
        if "FROM outbox" in statement or "UPDATE outbox" in statement:
            plans.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        outbox.list_rows(engine, state="dead")
        outbox.retry_rows(engine, all_dead=True)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(plans) == 2
    with engine.connect() as conn:
        for statement, params in plans:
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params))
            assert "ix_outbox_dead" in plan, plan
    with pytest.raises(ValueError):
        outbox.list_rows(engine, state="dead' OR 1=1 --")


def test_outbox_list_limit_is_a_positive_number(app, runner):
    # SQLite takes LIMIT -1 as "no limit" and PostgreSQL refuses it: neither is what was asked.
    for limit in ("0", "-1"):
        result = runner.invoke(args=["outbox", "list", "--limit", limit])
        assert result.exit_code == 2 and "--limit" in result.output, result.output
    assert runner.invoke(args=["outbox", "list", "--limit", "1"]).exit_code == 0


def test_the_workers_claim_reads_the_outbox_through_its_indexes(app, submit):
    """The claim walks the due pending rows by their partial index and, for each, looks for an
    earlier pending event of the same submission by ix_outbox_submission: never a scan of the
    whole outbox, which keeps every row ever delivered (SQLite's plan)."""
    engine = db.get_engine(app)
    if engine.dialect.name != "sqlite":
        pytest.skip("the plan of SQLite's query planner")
    submit()
    plans = []

    def record(conn, cursor, statement, params, *_):
        if statement.lstrip().startswith("SELECT outbox.id"):
            plans.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert outbox.claim(engine, "w", outbox.Policy())
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert plans
    with engine.connect() as conn:
        for statement, params in plans:
            plan = [r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)]
            assert any("ix_outbox_pending_due" in step for step in plan), plan
            assert any("earlier USING INDEX ix_outbox_submission " in step for step in plan), plan
            assert not any(step.startswith(("SCAN outbox", "SCAN earlier")) for step in plan), plan
