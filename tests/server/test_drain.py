"""Draining a backlog: the pool keeps sending while the worker's thread records and claims,
a round reads nothing back it does not need, and the HTTP client reads the environment once.

Real SQLite/PostgreSQL and real HTTP servers on loopback; no timings asserted.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from widget_server.delivery import queue
from widget_server.delivery.destinations import Result, http
from widget_server.delivery.destinations.central import CentralDestination
from widget_server.delivery.destinations.base import Event
from widget_server.delivery.pool import Attempt, Pool
from widget_server.delivery.worker import Worker, record_deliveries
from widget_server.intake import submissions
from widget_server.store import db


@pytest.fixture
def submit(app: Any, site: Any, submission_body: dict[str, Any]):
    def _submit() -> dict[str, Any]:
        return submissions.create_submission(site[0], dict(submission_body), via="api")
    return _submit


def claimed(n: int) -> list[queue.Claimed]:
    now = db.utcnow()
    return [queue.Claimed(id=f"msg_{i}", destination="central", event_type="submission.created",
                          submission_id=None, payload={}, attempts=1, created_at=now,
                          lease_until=now + dt.timedelta(seconds=60)) for i in range(n)]


def collect(pool: Pool, count: int, seconds: float = 10.0) -> list[Attempt]:
    """What ended within ``seconds``, without ever calling ``launch`` (the worker's thread is busy)."""
    done: list[Attempt] = []
    until = time.monotonic() + seconds
    while len(done) < count and time.monotonic() < until:
        time.sleep(0.02)
        with pool._lock:  # peek: ``finished`` would count, not start, anything
            ready = pool._done.qsize()
        if ready + len(done) >= count:
            break
    while not pool._done.empty():
        done.append(pool._done.get_nowait())
    return done


def test_threads_take_waiting_rows_while_the_worker_thread_is_busy():
    ok = Result("delivered", status=201)
    pool = Pool(2, lambda row, _round: (time.sleep(0.01), Attempt(row, ok))[1])
    try:
        pool.start(claimed(6))  # 2 start, 4 wait; nobody calls launch() again
        done = collect(pool, 6)
    finally:
        pool.close()
    assert len(done) == 6  # before: 2, the rest waited for the worker's thread


def test_after_a_failure_waiting_rows_wait_until_the_results_are_recorded():
    started: list[str] = []

    def attempt(row: queue.Claimed, _round: int) -> Attempt:
        started.append(row.id)
        return Attempt(row, Result("retry", status=503) if row.id == "msg_0" else Result("delivered"))

    pool = Pool(1, attempt)
    try:
        pool.start(claimed(3))
        collect(pool, 3, seconds=0.5)
        assert started == ["msg_0"]  # the breaker may open on it: nothing more starts
        pool.launch()  # the worker's thread recorded it and applied the halts
        collect(pool, 2)
        assert started == ["msg_0", "msg_1", "msg_2"]
    finally:
        pool.close()


def test_a_backlog_round_claims_for_the_threads_and_rows_to_follow(app, submit):
    for _ in range(10):
        submit()
    app.config["CENTRAL_URL"] = "http://127.0.0.1:9"  # never reached: no thread is free to try
    worker = Worker(app, "drain", concurrency=2)
    worker.pool.launch = lambda: None  # type: ignore[method-assign]  # keep the rows waiting
    try:
        assert worker.cycle(0)[1] == 8  # before: 2 (only the free threads)
    finally:
        worker.pool._waiting.clear()
        worker.close()


def statements(engine: Any) -> tuple[list[str], Any]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "SELECT 1"):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    return seen, note


def test_recording_a_round_of_deliveries_takes_a_few_statements(app, submit):
    for _ in range(8):
        submit()
    engine = db.get_engine(app)
    policy = queue.Policy.from_config(app.config)
    rows = queue.claim(engine, "w", policy, limit=8)
    ok = [(row, Result("delivered", status=201, remote_id=f"TH-{i}")) for i, row in enumerate(rows)]
    seen, note = statements(engine)
    try:
        recorded, _ = queue.settle(engine, ok, "w", policy, on_delivered_many=record_deliveries)
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert [r.state for r in recorded] == ["delivered"] * 8
    # The breaker's upsert, the rows marked, the history and the submissions (on PostgreSQL the
    # submissions are locked first, read as one answer); before: 6 on SQLite, the destination
    # read and every id read back.
    assert len(seen) == (5 if db.is_postgres(engine) else 4), seen
    assert not any("RETURNING" in s for s in seen)
    with db.read(engine) as conn:
        forwarded = conn.execute(sa.select(sa.func.count()).select_from(db.history).where(
            db.history.c.status == "forwarded")).scalar_one()
        central_ids = set(conn.execute(sa.select(db.submissions.c.central_id)).scalars())
    assert forwarded == 8 and central_ids == {f"TH-{i}" for i in range(8)}


def test_a_success_after_another_worker_delivered_the_row_is_not_acknowledged_again(app, submit):
    submit()
    submit()
    engine = db.get_engine(app)
    policy = queue.Policy.from_config(app.config)
    now = db.utcnow()
    first, second = queue.claim(engine, "a", policy, now=now)
    with db.write(engine) as conn:  # "a" was slow with the first: "b" took it over and delivered it
        conn.execute(sa.update(db.outbox).where(db.outbox.c.id == first.id).values(
            next_attempt_at=now))
    [theirs] = queue.claim(engine, "b", policy, now=now + dt.timedelta(seconds=1))
    assert theirs.id == first.id
    queue.record(engine, theirs, Result("delivered", status=201), "b", policy)
    acked: list[str] = []
    late, mine = queue.settle(
        engine, [(first, Result("delivered", status=201)), (second, Result("delivered", status=201))],
        "a", policy, on_delivered_many=lambda conn, done: acked.extend(r.id for r, _ in done))[0]
    assert late.state == "lost" and mine.state == "delivered"
    assert acked == [second.id]  # the submission of the first is not acknowledged twice


class Recorder(BaseHTTPRequestHandler):
    """Answers 201 and keeps what came: request line and headers (a proxy gets absolute URLs)."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.requestline, dict(self.headers), body))
        answer = json.dumps({"central_id": "TH-1", "status": "received"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


def serve() -> tuple[ThreadingHTTPServer, list[tuple[str, dict[str, str], bytes]]]:
    handler = type("Handler", (Recorder,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, handler.seen


def test_a_delivery_sends_what_session_post_sends_and_reads_the_environment_once(monkeypatch):
    server, seen = serve()
    url = f"http://127.0.0.1:{server.server_port}/intake/v1/submissions"
    reads: list[str] = []
    merge = requests.Session.merge_environment_settings

    def counted(self: requests.Session, target: str, *args: Any) -> Any:
        reads.append(target)
        return merge(self, target, *args)

    monkeypatch.setattr(requests.Session, "merge_environment_settings", counted)
    session = http.session()
    try:
        headers = {"Content-Type": "application/json", "Idempotency-Key": "msg_1"}
        for _ in range(3):
            http.post_bytes(session, url, b'{"a":1}', headers, timeout=5).close()
        assert reads == [url]  # before: once per delivery (proxies, CA bundle, .netrc)
        session.post(url, data=b'{"a":1}', headers=headers, timeout=5, allow_redirects=False).close()
    finally:
        session.close()
        server.shutdown()
        server.server_close()
    lean, plain = seen[0], seen[-1]
    assert lean[0] == plain[0] and lean[2] == plain[2]
    assert lean[1] == plain[1]  # the same headers, User-Agent and Content-Length included


def test_a_proxy_from_the_environment_is_still_used(monkeypatch, app):
    proxy, seen = serve()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    central = CentralDestination("http://central.invalid", "whsec_" + "A" * 32, timeout=(5, 5))
    try:
        result = central.deliver(Event(id="msg_1", type="submission.created", data={"id": "s1"}))
    finally:
        central.close()
        proxy.shutdown()
        proxy.server_close()
    assert result.outcome == "delivered" and result.remote_id == "TH-1"
    [(line, headers, _body)] = seen
    assert line.startswith("POST http://central.invalid/intake/v1/submissions ")
    assert headers["Idempotency-Key"] == "msg_1" and headers["webhook-id"] == "msg_1"


def _worker_errors(app: Any, caplog: Any, meanwhile: Any) -> list[Any]:
    """The ERROR records of a worker run in a thread while ``meanwhile()`` runs, then stopped."""
    worker = Worker(app, "early")
    caplog.set_level("INFO", logger="widget_server")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    meanwhile()
    worker.stop()
    thread.join(10)
    assert not thread.is_alive()
    db.get_engine(app).dispose()
    return [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_worker_on_a_database_without_tables_says_what_to_do_without_tracebacks(
        app_config: dict[str, Any], tmp_path: Any, caplog: Any) -> None:
    """Started before `db upgrade` (a deployment's order, or the wrong folder): one line that
    names the command, then a wait of its own, not a traceback every second."""
    from widget_server import create_app

    empty = create_app({**app_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
                        "OUTBOX_POLL_SECONDS": 0.1})
    failures = _worker_errors(empty, caplog, lambda: time.sleep(2.5))
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert "db upgrade" in failures[0].getMessage() and not failures[0].exc_info


def test_a_worker_whose_database_goes_away_logs_its_reason_without_tracebacks(
        app_config: dict[str, Any], tmp_path: Any, caplog: Any) -> None:
    """The database down while the worker runs: a line a round with the driver's reason, and the
    worker waits for it; it was a whole traceback (a hundred lines) every second."""
    from widget_server import create_app

    gone = create_app({**app_config, "DATABASE_URL": f"sqlite:///{tmp_path / 'no-such-folder' / 'r.sqlite3'}",
                       "OUTBOX_POLL_SECONDS": 0.1})
    def first_error() -> None:
        deadline = time.monotonic() + 10
        while not [r for r in caplog.records if r.levelname == "ERROR"] and time.monotonic() < deadline:
            time.sleep(0.05)

    failures = _worker_errors(gone, caplog, first_error)
    assert failures and all(not r.exc_info for r in failures), [r.getMessage() for r in failures]
    assert "unable to open database file" in failures[0].getMessage()
