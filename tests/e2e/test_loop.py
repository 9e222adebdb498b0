"""The whole chain over real HTTP: relay → worker → central system → relay → citizen."""

from __future__ import annotations

import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import contextlib_closing, wait_for
from widget_server.store import db
from widget_server.delivery import queue as outbox


def _operator_post(loop, central_id, action, **fields):
    """Open the operator page like a browser, then send one of its forms."""
    page = loop.http.get(f"{loop.central.url}/submissions/{central_id}", timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = loop.http.post(f"{loop.central.url}/submissions/{central_id}/actions", timeout=10,
                       data={"csrf_token": token, "action": action, **fields},
                       allow_redirects=False)
    assert r.status_code == 303, r.text
    return r


def test_submit_forward_answer_lookup(make_loop):
    loop = make_loop()
    loop.start_worker()
    created = loop.submit()
    code = created["tracking_code"]

    status = wait_for(lambda: (s := loop.lookup(code))["status"] == "forwarded" and s)
    assert [h["status"] for h in status["history"]] == ["received", "forwarded"]
    listing = loop.http.get(loop.central.url + "/", timeout=10).text
    assert code in listing
    with contextlib_closing(loop.central_db()) as conn:
        central_id = conn.execute("SELECT central_id FROM submissions WHERE relay_id = ?",
                                  (created["id"],)).fetchone()[0]

    _operator_post(loop, central_id, "accept", note="Chuyển Sở Nông nghiệp và Môi trường")
    assert loop.lookup(code)["status"] == "accepted"
    _operator_post(loop, central_id, "answer", agency="so-tnmt",
                   answer="Đã thu gom rác <ngay> trong ngày 12/3.")
    found = loop.lookup(code)
    assert found["status"] == "answered"
    assert found["answer"]["text"] == "Đã thu gom rác <ngay> trong ngày 12/3."
    assert found["answer"]["agency"] == "Sở Nông nghiệp và Môi trường"
    detail = loop.http.get(f"{loop.central.url}/submissions/{central_id}", timeout=10).text
    assert "&lt;ngay&gt;" in detail and "<ngay>" not in detail  # autoescaped

    # The citizen's rating travels back to the central system as submission.rated.
    r = loop.http.post(f"{loop.relay.url}/api/v1/submissions/{code}/rating", timeout=10,
                       json={"contact": "0912345678", "satisfied": True, "comment": "Cảm ơn"})
    assert r.status_code == 200, r.text
    wait_for(lambda: loop.central_count("relay_events") == 1)
    detail = loop.http.get(f"{loop.central.url}/submissions/{central_id}", timeout=10).text
    assert "Hài lòng" in detail
    assert loop.central_count() == 1
    # The central system stores the rating before it answers 2xx; the worker records that
    # answer afterwards: wait for it rather than reading the outbox in between.
    wait_for(lambda: loop.outbox_states() == {"delivered": 2})


@pytest.mark.slow
def test_central_failures_then_recovery(make_loop, pinned_backoff):
    """500s, a timeout (the central system stores it, the relay never hears), 429 with
    Retry-After, a connection refused: every submission arrives, once."""
    loop = make_loop(HTTP_TIMEOUT=0.5, BREAKER_THRESHOLD=100)
    loop.chaos.plan = [
        ("status", 500, []),
        ("stall", 1.0),
        ("status", 503, []),
        ("status", 429, [("Retry-After", "1")]),
        ("status", 502, []),
    ]
    codes = [loop.submit()["tracking_code"] for _ in range(3)]
    loop.start_worker()
    wait_for(lambda: loop.outbox_states() == {"delivered": 3}, timeout=60)
    assert loop.central_count() == 3
    assert loop.central_count("messages") == 3
    assert len(loop.chaos.hits) >= 8
    assert len({msg_id for _path, msg_id in loop.chaos.hits}) == 3  # stable ids on retries
    for code in codes:
        assert loop.lookup(code)["status"] == "forwarded"


@pytest.mark.slow
def test_worker_killed_between_send_and_record(make_loop):
    """SIGKILL after the central system stored the submission but before the worker
    recorded it: the row comes due when the lease ends, the next worker delivers
    again, the central system drops the duplicate."""
    loop = make_loop(OUTBOX_LEASE_SECONDS=2)
    release = threading.Event()
    loop.chaos.plan = [("hold", release)]
    created = loop.submit()
    proc = loop.spawn_worker("doomed", PHANHOI_OUTBOX_LEASE_SECONDS="2")
    try:
        assert loop.chaos.received.wait(15), loop.log_of("doomed")
        assert loop.central_count() == 1
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(5) == -signal.SIGKILL
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    engine = db.get_engine(loop.relay_app)
    [row] = outbox.list_rows(engine)
    assert row["state"] == "pending" and row["attempts"] == 1
    with engine.connect() as conn:
        owner = conn.execute(sa.select(db.outbox.c.lease_owner)).scalar_one()
    assert owner == "doomed"
    assert loop.lookup(created["tracking_code"])["status"] == "received"

    policy = outbox.Policy.from_config(loop.relay_app.config)
    assert outbox.claim(engine, "rescuer", policy) == []  # still leased
    worker = loop.start_worker("rescuer")
    wait_for(lambda: loop.outbox_states() == {"delivered": 1}, timeout=60)
    worker.stop()
    assert loop.lookup(created["tracking_code"])["status"] == "forwarded"
    assert loop.central_count() == 1
    assert len(loop.chaos.hits) == 2
    assert loop.chaos.hits[0][1] == loop.chaos.hits[1][1]


def _two_workers(loop, n):
    procs = [loop.spawn_worker(f"w{i}", PHANHOI_LOG_LEVEL="INFO") for i in range(2)]
    try:
        # Both running (signal handlers installed) before the queue fills up under them.
        wait_for(lambda: all("started" in loop.log_of(f"w{i}") for i in range(2)), timeout=60)
        with ThreadPoolExecutor(4) as pool:
            codes = [c["tracking_code"] for c in pool.map(lambda _: loop.submit(), range(n))]
        wait_for(lambda: loop.outbox_states() == {"delivered": n}, timeout=60, interval=0.1)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(10)
    logs = loop.log_of("w0") + loop.log_of("w1")
    assert [proc.returncode for proc in procs] == [0, 0], logs
    assert "Traceback" not in logs, logs
    assert "0912345678" not in logs and "Lê Văn A" not in logs
    assert loop.central_count() == n
    # Exactly once: no row was sent twice, not even to be dropped as a duplicate.
    assert len(loop.chaos.hits) == n, logs
    owners = {row["id"] for row in outbox.list_rows(db.get_engine(loop.relay_app))}
    assert len(owners) == n
    for code in codes[:3]:
        assert loop.lookup(code)["status"] == "forwarded"


@pytest.mark.slow
def test_two_workers_sqlite(make_loop, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the PostgreSQL run has its own test")
    _two_workers(make_loop(), 20)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_workers_postgres(make_loop, database_url):
    if not database_url.startswith("postgres"):
        pytest.skip("PHANHOI_TEST_DATABASE_URL is not set")
    _two_workers(make_loop(), 40)

