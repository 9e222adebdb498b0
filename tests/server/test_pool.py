"""The worker's pool of delivery threads, against a real central system on loopback.

Several deliveries really overlap; one submission's events still reach the central
system in order; a stop lets the deliveries in flight finish and gives back the rest;
a halted destination gets no new attempts; results are recorded several per transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from widget_server.delivery import queue
from widget_server.delivery.destinations import Result
from widget_server.delivery.worker import Worker
from widget_server.intake import submissions
from widget_server.store import db
from widget_server.store import outbox as store_outbox


class Central:
    """A central system that takes ``delay`` seconds per request and remembers what overlapped."""

    def __init__(self, delay: float = 0.0, status: int = 201) -> None:
        self.delay, self.status = delay, status
        self.lock = threading.Lock()
        self.active = self.most = 0
        self.log: list[tuple[str, str, str, float]] = []  # (phase, event type, submission id, time)
        self.arrived = threading.Event()
        app = Flask("central")

        @app.post("/intake/v1/<kind>")
        def intake(kind: str) -> Any:
            body = json.loads(request.get_data())
            data = body["data"]
            subject = data.get("submission_id") or data.get("id") or ""
            with self.lock:
                self.active += 1
                self.most = max(self.most, self.active)
                self.log.append(("start", body["type"], subject, time.monotonic()))
            self.arrived.set()
            time.sleep(self.delay)
            with self.lock:
                self.active -= 1
                self.log.append(("end", body["type"], subject, time.monotonic()))
            return jsonify(central_id="TH-" + subject[:8], status="received"), self.status

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def started(self) -> list[tuple[str, str, str, float]]:
        with self.lock:
            return [entry for entry in self.log if entry[0] == "start"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def central(app: Any):
    made: list[Central] = []

    def _central(delay: float = 0.0, status: int = 201) -> Central:
        made.append(Central(delay, status))
        app.config["CENTRAL_URL"] = made[-1].url
        return made[-1]

    yield _central
    for server in made:
        server.close()


@pytest.fixture
def submit(app: Any, site: Any, submission_body: dict[str, Any]):
    def _submit() -> dict[str, Any]:
        return submissions.create_submission(site[0], dict(submission_body), via="api")
    return _submit


def rows(app: Any) -> list[Any]:
    with db.read(db.get_engine(app)) as conn:
        return list(conn.execute(sa.select(db.outbox).order_by(db.outbox.c.created_at)).all())


def rate(submission_id: str, n: int) -> None:
    """A rating event after the submission (and after the ``n``-th rating before it)."""
    with db.write() as conn:
        store_outbox.enqueue(conn, destination="central", event_type="submission.rated",
                             submission_id=submission_id,
                             data={"submission_id": submission_id, "satisfied": n % 2 == 0, "n": n},
                             at=db.utcnow() + dt.timedelta(milliseconds=1 + n))


def run_until_delivered(worker: Worker, app: Any, count: int, limit: float = 30.0) -> None:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            if sum(r.state == "delivered" for r in rows(app)) >= count:
                break
            time.sleep(0.05)
    finally:
        worker.stop()
        thread.join(15)
    assert not thread.is_alive()


def test_deliveries_overlap_up_to_the_concurrency(app, submit, central):
    server = central(delay=0.3)
    for _ in range(8):
        submit()
    worker = Worker(app, "pool", concurrency=4, batch=8)
    started = time.monotonic()
    try:
        assert worker.run_once() == 8
    finally:
        worker.close()
    took = time.monotonic() - started
    assert server.most == 4  # never more than the pool, and really that many at once
    assert took < 8 * 0.3 * 0.6, took  # one at a time would take 2.4 s
    assert {r.state for r in rows(app)} == {"delivered"}
    assert len(server.started()) == 8


def test_one_submission_events_stay_in_order(app, submit, central):
    server = central(delay=0.02)
    made = [submit() for _ in range(12)]
    for created in made:
        for n in range(3):
            rate(created["id"], n)
    worker = Worker(app, "pool", concurrency=8)
    run_until_delivered(worker, app, count=12 * 4)
    assert {r.state for r in rows(app)} == {"delivered"}
    assert server.most > 1
    for created in made:
        seen = [(phase, kind, n) for n, (phase, kind, subject, _t) in enumerate(server.log)
                if subject == created["id"]]
        # Each event starts only after the one before it ended: never two in flight at once.
        assert [(phase, kind) for phase, kind, _n in seen] == (
            [("start", "submission.created"), ("end", "submission.created")]
            + [("start", "submission.rated"), ("end", "submission.rated")] * 3)
    ratings = [json.loads(json.dumps(r.payload))["data"]["n"] for r in rows(app)
               if r.event_type == "submission.rated"]
    assert len(ratings) == 36


def test_a_stop_finishes_what_is_in_flight_and_releases_the_rest(app, submit, central):
    server = central(delay=1.0)
    for _ in range(10):
        submit()
    worker = Worker(app, "pool", concurrency=3, batch=10)  # 7 rows wait for a thread
    worker.pool.start(queue.claim(db.get_engine(app), worker.id, worker.policy(), limit=10))
    assert server.arrived.wait(10)
    worker.stop()
    worker.finish()
    worker.close()
    delivered = [r for r in rows(app) if r.state == "delivered"]
    waiting = [r for r in rows(app) if r.state == "pending"]
    assert len(delivered) == len(server.started()) == 3  # the three in flight, recorded
    assert len(waiting) == 7
    assert all(r.attempts == 0 and r.lease_owner is None for r in waiting)  # given back, uncharged
    assert all(r.next_attempt_at <= db.utcnow() for r in waiting)


def test_a_halted_destination_gets_no_new_attempts(app, submit, central):
    server = central(delay=0.05, status=410)
    for _ in range(8):
        submit()
    worker = Worker(app, "pool", concurrency=2, batch=8)
    try:
        assert worker.run_once() <= 2  # those in flight when it answered 410
    finally:
        worker.close()
    assert len(server.started()) <= 2
    assert all(r.state == "pending" and r.attempts == 0 for r in rows(app))
    with db.read(db.get_engine(app)) as conn:
        assert conn.execute(sa.select(db.destinations.c.state)).scalar_one() == "disabled"


def test_a_row_whose_lease_is_nearly_over_is_given_back_not_sent(app, submit, central):
    server = central()
    submit()
    worker = Worker(app, "pool", concurrency=2)
    short = queue.Policy.from_config({**app.config, "OUTBOX_LEASE_SECONDS": 2})
    worker.pool.start(queue.claim(db.get_engine(app), worker.id, short))
    worker.finish()
    worker.close()
    assert server.started() == []
    [row] = rows(app)
    assert row.state == "pending" and row.attempts == 0 and row.lease_owner is None


def test_results_of_a_batch_commit_together_with_their_hooks(app, submit):
    for _ in range(3):
        submit()
    engine = db.get_engine(app)
    policy = queue.Policy.from_config(app.config)
    claimed = queue.claim(engine, "w", policy)
    assert len(claimed) == 3
    ok = Result("delivered", status=201, remote_id="TH-1")
    seen: list[str] = []

    def hook(conn: Any, row: queue.Claimed, result: Result) -> None:
        seen.append(row.id)
        if len(seen) == 3:
            raise RuntimeError("the third hook fails")

    with pytest.raises(RuntimeError):
        queue.record_many(engine, [(row, ok) for row in claimed], "w", policy, on_delivered=hook)
    assert {r.state for r in rows(app)} == {"pending"}  # nothing of the batch was committed
    recorded = queue.record_many(engine, [(row, ok) for row in claimed], "w", policy,
                                 on_delivered=lambda conn, row, result: None)
    assert [r.state for r in recorded] == ["delivered"] * 3
    assert {r.state for r in rows(app)} == {"delivered"}


def test_a_failed_give_back_keeps_the_rounds_results(app, submit, central):
    """A database blip while rows not started are given back: the round's finished deliveries
    are recorded on the next round, not dropped (they were sent: dropped, they would stay
    leased and be sent again after the lease)."""
    server = central(delay=0.3)
    submit()
    submit()
    worker = Worker(app, "pool", concurrency=1, batch=2)  # the second row waits for the thread
    engine = db.get_engine(app)
    worker.pool.start(queue.claim(engine, worker.id, worker.policy(), limit=2))
    assert server.arrived.wait(10)
    worker.stop()  # the waiting row is given back, not sent
    deadline = time.monotonic() + 10
    while worker.pool._done.qsize() < 2 and time.monotonic() < deadline:  # noqa: SLF001 - both ended
        time.sleep(0.02)
    refused: list[str] = []

    def blip(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not refused and statement.lstrip().upper().startswith("UPDATE OUTBOX") and "CASE" in statement.upper():
            refused.append(statement)
            raise engine.dialect.loaded_dbapi.OperationalError("disk I/O error")

    sa.event.listen(engine, "before_cursor_execute", blip)
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the store's error becomes
            worker.cycle(None, claim=False)
    finally:
        sa.event.remove(engine, "before_cursor_execute", blip)
    assert refused  # the give-back was what failed
    worker.finish()
    worker.close()
    states = sorted((r.state, r.attempts) for r in rows(app))
    assert len(server.started()) == 1
    assert states == [("delivered", 1), ("pending", 1)]  # the waiting row: leased until its lease ends


def _refuse_delivered(engine: Any, outbox_id: str) -> Any:
    """A trigger that makes the store refuse to record ``outbox_id`` delivered (a cause nobody
    foresaw); returns the statement that removes it."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"""CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN
                IF OLD.id = '{outbox_id}' AND NEW.state = 'delivered' THEN RAISE EXCEPTION 'refused'; END IF;
                RETURN NEW; END $$ LANGUAGE plpgsql""")
            conn.exec_driver_sql("CREATE TRIGGER refuse_one BEFORE UPDATE ON outbox FOR EACH ROW "
                                 "EXECUTE FUNCTION refuse_one()")
            return "DROP TRIGGER refuse_one ON outbox; DROP FUNCTION refuse_one()"
        conn.exec_driver_sql(f"""CREATE TRIGGER refuse_one BEFORE UPDATE ON outbox
            WHEN OLD.id = '{outbox_id}' AND NEW.state = 'delivered' BEGIN SELECT RAISE(ABORT, 'refused'); END""")
        return "DROP TRIGGER refuse_one"


def test_a_result_the_store_refuses_holds_up_no_other(app, submit, central):
    """One result the store refused failed the whole round's record, every round: the worker
    claimed nothing more and every delivery stopped. The round's results are now recorded one
    by one when the round fails for a reason other than the store being out of reach: the others
    are recorded, the refused one is let go (its lease ends and it is tried again: its receiver
    drops the copy by its id) and the worker goes on."""
    server = central()
    refused, recorded = submit(), submit()
    engine = db.get_engine(app)
    ids = {r.submission_id: r.id for r in rows(app)}
    undo = _refuse_delivered(engine, ids[refused["id"]])
    worker = Worker(app, "pool", concurrency=2, batch=2)
    try:
        worker.pool.start(queue.claim(engine, worker.id, worker.policy(), limit=2))
        deadline = time.monotonic() + 10
        while worker.pool._done.qsize() < 2 and time.monotonic() < deadline:  # noqa: SLF001 - both ended
            time.sleep(0.02)
        assert len(server.started()) == 2
        worker.cycle(None, claim=False)
        states = {r.id: r.state for r in rows(app)}
        assert states[ids[recorded["id"]]] == "delivered" and states[ids[refused["id"]]] == "pending"
        later = submit()
        assert worker.run_once() == 1  # the worker goes on: the next submission is sent and recorded
        states = {r.submission_id: r.state for r in rows(app)}
        assert states[later["id"]] == "delivered" and states[refused["id"]] == "pending"
    finally:
        worker.finish()
        worker.close()
        with engine.begin() as conn:
            for statement in undo.split("; "):
                conn.exec_driver_sql(statement)
