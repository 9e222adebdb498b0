"""An HTTP attempt ends by its deadline, however slowly the answer trickles in; and never
outlives the row's lease, so a slow central system never gets one event twice at once.

Against a real central system on loopback that sends its headers at once, then its body a
byte at a time (each read well inside the per-read timeout).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa

from widget_server.delivery.destinations import Event
from widget_server.delivery.destinations.central import CentralDestination
from widget_server.delivery.worker import Worker
from widget_server.intake import submissions
from widget_server.store import db

BODY = b'{"central_id":"TH-1","status":"received","padding":"' + b"x" * 40 + b'"}'


class Trickle:
    """Answers 201 with its headers at once, then its body a byte every ``gap`` seconds."""

    def __init__(self, gap: float, delimited_by_close: bool = False) -> None:
        self.lock = threading.Lock()
        self.active: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                msg_id = self.headers.get("webhook-id") or ""
                with owner.lock:
                    owner.requests += 1
                    owner.active[msg_id] += 1
                    owner.most[msg_id] = max(owner.most[msg_id], owner.active[msg_id])
                try:
                    self.send_response(201)
                    self.send_header("Content-Type", "application/json")
                    if delimited_by_close:  # HTTP/1.0's way: the body ends when the connection does
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    else:
                        self.send_header("Content-Length", str(len(BODY)))
                    self.end_headers()
                    self.wfile.flush()
                    for i in range(len(BODY)):
                        self.wfile.write(BODY[i:i + 1])
                        self.wfile.flush()
                        time.sleep(gap)
                except OSError:
                    pass  # the relay gave up on this answer
                finally:
                    with owner.lock:
                        owner.active[msg_id] -= 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def trickle():
    made: list[Trickle] = []

    def _make(gap: float, delimited_by_close: bool = False) -> Trickle:
        made.append(Trickle(gap, delimited_by_close))
        return made[-1]

    yield _make
    for server in made:
        server.close()


def test_an_answer_that_trickles_in_is_a_timeout_at_the_attempts_deadline(trickle: Any) -> None:
    """PHANHOI_HTTP_TIMEOUT 1 s: connect ≤ 1 s and each read ≤ 1 s, the whole attempt ≤ 2 s.
    An answer whose every byte comes within the read timeout no longer holds the attempt for
    as long as it likes (here 60 bytes × 0.25 s)."""
    server = trickle(gap=0.25)
    destination = CentralDestination(server.url, "whsec_" + "A" * 43, timeout=(1.0, 1.0))
    try:
        started = time.monotonic()
        result = destination.deliver(Event(id="msg_1", type="submission.created", data={"id": "s1"},
                                           submission_id="s1", attempt=1))
        took = time.monotonic() - started
    finally:
        destination.close()
    assert (result.outcome, result.error) == ("retry", "timeout")
    assert 1.5 < took < 4, took


def test_an_answer_ended_by_its_connection_and_cut_by_the_deadline_is_not_a_delivery(trickle: Any) -> None:
    """An answer without a length ends when its connection closes: cut at the deadline, what came
    is no whole answer (the central id would be lost), so it is a timeout, tried again."""
    server = trickle(gap=0.25, delimited_by_close=True)
    destination = CentralDestination(server.url, "whsec_" + "A" * 43, timeout=(1.0, 1.0))
    try:
        result = destination.deliver(Event(id="msg_4", type="submission.created", data={"id": "s4"},
                                           submission_id="s4", attempt=1))
    finally:
        destination.close()
    assert (result.outcome, result.error) == ("retry", "timeout")


def test_an_answer_within_the_deadline_is_delivered(trickle: Any) -> None:
    server = trickle(gap=0.005)
    destination = CentralDestination(server.url, "whsec_" + "A" * 43, timeout=(1.0, 1.0))
    try:
        result = destination.deliver(Event(id="msg_2", type="submission.created", data={"id": "s2"},
                                           submission_id="s2", attempt=1))
        again = destination.deliver(Event(id="msg_3", type="submission.created", data={"id": "s3"},
                                          submission_id="s3", attempt=1))  # a pooled connection
    finally:
        destination.close()
    assert (result.outcome, result.remote_id, again.outcome) == ("delivered", "TH-1", "delivered")


def test_a_slow_central_system_never_gets_one_event_twice_at_once(app: Any, site: Any,
                                                                  submission_body: dict[str, Any],
                                                                  trickle: Any) -> None:
    """A lease shorter than the attempt's own deadline (4 s against 10 + 5 s): the attempt is
    cut before the lease ends, so no later round claims the row while it is still being sent."""
    server = trickle(gap=0.2)  # 60 bytes: 12 s an answer
    app.config.update(CENTRAL_URL=server.url, OUTBOX_LEASE_SECONDS=4, HTTP_TIMEOUT=10,
                      OUTBOX_POLL_SECONDS=0.1)
    created = submissions.create_submission(site[0], dict(submission_body), via="api")
    worker = Worker(app, "slow", concurrency=4)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        time.sleep(11)
    finally:
        worker.stop()
        thread.join(20)
        worker.close()
    assert not thread.is_alive()
    with db.read(db.get_engine(app)) as conn:
        row = conn.execute(sa.select(db.outbox).where(db.outbox.c.submission_id == created["id"])).one()
    assert server.requests >= 1
    assert max(server.most.values()) == 1, server.most
    assert row.state == "pending" and row.last_error == "timeout"
