"""``phanhoi-widget worker`` as a process: --once, and a graceful stop on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask import Flask, jsonify
from werkzeug.serving import make_server

from widget_server.store import db
from widget_server.delivery import queue as outbox
from widget_server.intake import submissions

EXE = str(Path(sys.executable).parent / "phanhoi-widget")


def slow_central(delay: float):
    """A central system that takes ``delay`` seconds to acknowledge."""
    central = Flask("slow_central")
    arrived = threading.Event()

    @central.post("/intake/v1/submissions")
    def intake():
        arrived.set()
        time.sleep(delay)
        return jsonify(central_id="TH-SLOW", status="received"), 201

    server = make_server("127.0.0.1", 0, central, threaded=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, arrived


def env_for(app, central_url):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
    env.update({
        "PHANHOI_SECRET_KEY": app.config["SECRET_KEY"],
        "PHANHOI_DATABASE_URL": app.config["DATABASE_URL"],
        "PHANHOI_CENTRAL_URL": central_url,
        "PHANHOI_CENTRAL_SECRET": app.config["CENTRAL_SECRET"],
        "PHANHOI_OUTBOX_POLL_SECONDS": "0.05",
    })
    return env


@pytest.mark.slow
def test_sigterm_finishes_the_delivery_in_flight(app, site, submission_body):
    created = submissions.create_submission(site[0], submission_body, via="api")
    server, arrived = slow_central(1.0)
    proc = subprocess.Popen([EXE, "worker", "--id", "graceful"],
                            env=env_for(app, f"http://127.0.0.1:{server.server_port}"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert arrived.wait(15)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, output
    assert b"SIGTERM" in output
    # Each line once: not again by Flask's own handler beside the root logger's.
    assert output.count(b"SIGTERM received") == 1, output
    [row] = outbox.list_rows(db.get_engine(app))
    assert row["state"] == "delivered" and row["tracking_code"] == created["tracking_code"]
    assert b"0912345678" not in output and "Lê Văn A".encode() not in output


def test_worker_once_cli(app, runner, site, submission_body, monkeypatch):
    import responses

    submissions.create_submission(site[0], submission_body, via="api")
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "http://central.test/intake/v1/submissions",
                 json={"central_id": "TH-1", "status": "received"}, status=201)
        before = signal.getsignal(signal.SIGTERM)
        result = runner.invoke(args=["worker", "--once", "--id", "cli"])
        assert result.exit_code == 0, result.output
        assert signal.getsignal(signal.SIGTERM) is before  # handlers restored
    assert outbox.list_rows(db.get_engine(app))[0]["state"] == "delivered"
