"""What the relay keeps of a central system's odd answers, and that a worker goes on after them.

The central system is faked with ``responses`` (outgoing HTTP only); the relay's database is
real (SQLite, and PostgreSQL in the ``-m db`` run).
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import responses
import sqlalchemy as sa
import trustme

from widget_server.delivery.worker import Worker
from widget_server.intake import submissions
from widget_server.store import db

INTAKE = "http://central.test/intake/v1/submissions"


@pytest.fixture
def submit(app: Any, site: Any, submission_body: dict[str, Any]):
    def _submit() -> dict[str, Any]:
        return submissions.create_submission(site[0], dict(submission_body), via="api")
    return _submit


def stored(app: Any) -> tuple[dict[str, str | None], set[str]]:
    """Each submission's central id, and the outbox rows' states."""
    with db.read(db.get_engine(app)) as conn:
        ids = {r.id: r.central_id for r in conn.execute(sa.select(db.submissions))}
        states = set(conn.execute(sa.select(db.outbox.c.state)).scalars())
    return ids, states


@responses.activate
@pytest.mark.parametrize("central_id", ["TH\x00-1", "TH-\n1", {"id": "TH-1"}, ["TH-1"], True])
def test_an_unusable_central_id_is_not_kept_and_the_worker_goes_on(app, submit, central_id):
    """A 2xx whose ``central_id`` is no identifier (a NUL, which PostgreSQL cannot store and
    which failed the worker's whole round, again each round; an object, kept as its Python
    repr): the submission is delivered, without a central id (its status events bring one)."""
    first, second = submit(), submit()
    responses.add(responses.POST, INTAKE, status=201,
                  json={"central_id": central_id, "status": "received\x00"})
    responses.add(responses.POST, INTAKE, status=201, json={"central_id": 4711, "status": "received"})
    assert Worker(app, "w", concurrency=1).run_once() == 2
    ids, states = stored(app)
    assert states == {"delivered"}
    assert sorted(ids.values(), key=lambda v: v or "") == [None, "4711"]
    assert set(ids) == {first["id"], second["id"]}


@responses.activate
@pytest.mark.parametrize(("status", "state"), [(422, "dead"), (500, "pending"), (401, "pending")])
def test_an_error_title_is_kept_without_control_characters(app, submit, status, state):
    """A problem title carrying a NUL (PostgreSQL cannot store it: the worker's round failed, and
    every round after it) or a terminal escape (``outbox list`` prints it): kept as spaces."""
    submit()
    responses.add(responses.POST, INTAKE, status=status,
                  json={"title": "Sai\x00mẫu\x1b[2J 0912\x00345678"})
    Worker(app, "w", concurrency=1).run_once()
    with db.read(db.get_engine(app)) as conn:
        [row] = conn.execute(sa.select(db.outbox.c.last_error, db.outbox.c.state)).all()
    assert row.state == state
    assert row.last_error == f"HTTP {status}: Sai mẫu [2J …"


@pytest.fixture
def https_central() -> Iterator[Callable[..., str]]:
    """A central system on loopback over TLS, with a certificate the relay does not trust (or a
    plain-HTTP one, for an ``https://`` URL pointed at it)."""
    servers: list[ThreadingHTTPServer] = []

    class Intake(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    def start(*, tls: bool) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Intake)
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"https://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("tls", "said"), [(True, "TLS failed: unable to get local issuer certificate"),
                                           (False, "TLS failed: ")])  # OpenSSL's reason, e.g. WRONG_VERSION_NUMBER
def test_a_failed_tls_handshake_is_named_for_the_operator(app, submit, https_central, tls, said):
    """An untrusted (expired, self-signed) certificate or an https URL to an http port: the row
    waits for another try and says why, where it said "connection failed" as for a server down."""
    app.config["CENTRAL_URL"] = https_central(tls=tls)
    submit()
    Worker(app, "w", concurrency=1).run_once()
    with db.read(db.get_engine(app)) as conn:
        [row] = conn.execute(sa.select(db.outbox.c.last_error, db.outbox.c.state)).all()
    assert row.state == "pending"
    if tls:
        assert row.last_error == said
    else:
        assert row.last_error.startswith(said) and row.last_error != said


@responses.activate
@pytest.mark.parametrize(("status", "state"), [(401, "paused"), (403, "paused"), (410, "disabled")])
def test_a_destination_that_waits_for_an_operator_is_a_warning(app, submit, caplog, status, state):
    """The secret rotated on the central side (401), the endpoint gone (410): nothing more is sent
    until someone runs `outbox resume`, so a log kept at WARNING says so, once a round, without
    the submitter's details. It said nothing: the attempt's line is INFO."""
    for _ in range(3):
        submit()
    responses.add(responses.POST, INTAKE, status=status, json={"title": "Sai chữ ký 0912345678"})
    caplog.set_level(logging.WARNING, logger="widget_server")
    Worker(app, "w", concurrency=1).run_once()
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert said == [f"destination central {state} ({status}): nothing is sent to it until "
                    "`phanhoi-widget outbox resume central`"]


@pytest.fixture
def huge_answer() -> Iterator[tuple[str, list[int]]]:
    """A central system that answers 200 with a 200 MB body, sent as fast as it is read (a
    proxy serving a file); the bytes it managed to send are counted."""
    sent: list[int] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(65536)
                head, body = request.split(b"\r\n\r\n", 1)
                declared = re.search(rb"(?i)content-length: *(\d+)", head)  # none on a GET
                length = int(declared.group(1)) if declared else 0
                while len(body) < length:
                    body += conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % (200 << 20))
                chunk, total = b" " * (1 << 20), 0
                with contextlib.suppress(OSError):
                    for _ in range(200):
                        conn.sendall(chunk)
                        total += len(chunk)
                sent.append(total)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", sent
    listener.close()
    thread.join(10)


def test_a_huge_answer_is_not_read_into_memory(app, submit, huge_answer):
    """The relay wants an id or a title: past 1 MiB it reads no more (32 delivery threads each
    holding such an answer ended the worker), and the 2xx still delivers."""
    url, sent = huge_answer
    app.config["CENTRAL_URL"] = url
    created = submit()
    Worker(app, "w", concurrency=1).run_once()
    with db.read(db.get_engine(app)) as conn:
        [row] = conn.execute(sa.select(db.outbox.c.state, db.outbox.c.last_status)).all()
    assert tuple(row) == ("delivered", 200)
    assert stored(app)[0] == {created["id"]: None}
    deadline = time.monotonic() + 10
    while not sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sent and sent[0] < 50 << 20, sent  # socket buffers, not the whole answer


def test_an_open311_back_end_s_huge_answer_is_not_read_into_memory(app, huge_answer):
    """Reading statuses back (``open311 sync``, the worker's read-back) read a GeoReport
    answer whole, as deliveries did: past 1 MiB it now reads no more and asks again later."""
    from widget_server.delivery.destinations.open311 import Open311Destination

    url, sent = huge_answer
    app.config.update(OPEN311_URL=url, OPEN311_SERVICE_CODES="*=OTHER")
    destination = Open311Destination.from_config(app.config)
    try:
        assert destination.fetch_status("638344") is None  # nothing usable: the next sync asks again
    finally:
        destination.close()
    deadline = time.monotonic() + 10
    while not sent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sent and sent[0] < 50 << 20, sent  # socket buffers, not the whole answer
