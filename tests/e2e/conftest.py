"""Real HTTP on loopback: the relay and the reference central system each in a
werkzeug server thread on port 0, and outbox workers in threads or processes.

Failures are made by :class:`Chaos`, a WSGI wrapper around the central app:
it can answer errors, stall past the relay's timeout, or hold a response after
the central system has stored the submission (to kill a worker in between).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

import central_system
from tests.helpers import valid_submission
from widget_server import create_app
from widget_server.store import db
from widget_server.delivery import queue as outbox
from widget_server.intake import reference, sites
from widget_server.delivery.worker import Worker


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class Chaos:
    """WSGI middleware: ``plan`` is a list of steps consumed by intake requests, one each.

    A step is ``("status", code, headers)``, ``("stall", seconds)`` (the request
    then goes through, late), or ``("hold", event)`` (the request goes through,
    then the response waits for ``event``). An empty plan lets everything pass.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.plan: list[tuple[Any, ...]] = []
        self.hits: list[tuple[str, str]] = []  # (path, webhook-id) of every intake request
        self.lock = threading.Lock()
        self.received = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/intake/v1/") or environ["REQUEST_METHOD"] != "POST":
            return self.app(environ, start_response)
        with self.lock:
            self.hits.append((path, environ.get("HTTP_WEBHOOK_ID", "")))
            step = self.plan.pop(0) if self.plan else None
        if step and step[0] == "status":
            headers = [("Content-Type", "application/json"), *step[2]]
            start_response(f"{step[1]} Chaos", headers)
            return [b'{"title": "chaos"}']
        if step and step[0] == "stall":
            time.sleep(step[1])
        body = b"".join(self.app(environ, start_response))
        self.received.set()
        if step and step[0] == "hold":
            step[1].wait(30)
        return [body]


class Loop:
    """Relay + central system + helpers to submit, wait and inspect."""

    def __init__(self, relay_app: Any, central_app: Any, chaos: Chaos, relay: LiveServer,
                 central: LiveServer, site: sites.Site, secret: str) -> None:
        self.relay_app = relay_app
        self.central_app = central_app
        self.chaos = chaos
        self.relay = relay
        self.central = central
        self.site = site
        self.secret = secret
        self.http = requests.Session()
        self.workers: list[tuple[Worker, threading.Thread]] = []
        self.log_dir = Path(central_app.config["DATABASE"]).parent
        self.logs: dict[str, Path] = {}
        with relay_app.app_context():
            self.consent_version = reference.consent_for(site.name).version

    def submit(self, **overrides: Any) -> dict[str, Any]:
        body = valid_submission(**overrides)
        body["consent"]["version"] = self.consent_version
        r = self.http.post(self.relay.url + "/api/v1/submissions", json=body, timeout=10, headers={
            "Authorization": f"Bearer {self.secret}", "Idempotency-Key": os.urandom(8).hex()})
        assert r.status_code == 201, r.text
        return r.json()

    def lookup(self, code: str, contact: str = "0912345678") -> dict[str, Any]:
        r = self.http.post(f"{self.relay.url}/api/v1/submissions/{code}/lookup",
                           json={"contact": contact}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def start_worker(self, name: str = "w1") -> Worker:
        worker = Worker(self.relay_app, name)
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        self.workers.append((worker, thread))
        return worker

    def stop_workers(self) -> None:
        for worker, thread in self.workers:
            worker.stop()
            thread.join(10)
        self.workers.clear()

    def central_db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.central_app.config["DATABASE"], timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def central_count(self, table: str = "submissions") -> int:
        with contextlib_closing(self.central_db()) as conn:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def outbox_states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in outbox.list_rows(db.get_engine(self.relay_app), limit=100000):
            counts[row["state"]] = counts.get(row["state"], 0) + 1
        return counts

    def worker_env(self, **extra: str) -> dict[str, str]:
        config = self.relay_app.config
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHANHOI_")}
        env.update({
            "PHANHOI_SECRET_KEY": str(config["SECRET_KEY"]),
            "PHANHOI_DATABASE_URL": str(config["DATABASE_URL"]),
            "PHANHOI_CENTRAL_URL": str(config["CENTRAL_URL"]),
            "PHANHOI_CENTRAL_SECRET": str(config["CENTRAL_SECRET"]),
            "PHANHOI_CENTRAL_EVENTS_SECRET": str(config["CENTRAL_EVENTS_SECRET"]),
            "PHANHOI_OUTBOX_POLL_SECONDS": "0.05",
            "PHANHOI_HTTP_TIMEOUT": "10",
            "PHANHOI_LOG_LEVEL": "WARNING",
            **extra,
        })
        return env

    def spawn_worker(self, name: str, **extra: str) -> subprocess.Popen[bytes]:
        """``phanhoi-widget worker`` in its own process; its log goes to ``logs[name]``."""
        exe = Path(sys.executable).parent / "phanhoi-widget"
        log = self.log_dir / f"worker-{name}.log"
        self.logs[name] = log
        with open(log, "wb") as fh:
            return subprocess.Popen([str(exe), "worker", "--id", name], env=self.worker_env(**extra),
                                    stdout=fh, stderr=subprocess.STDOUT)

    def log_of(self, name: str) -> str:
        return self.logs[name].read_text("utf-8", "replace")


class contextlib_closing:  # noqa: N801 - sqlite3 connections are not closing context managers
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: Any) -> None:
        self.conn.close()


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        time.sleep(interval)


@pytest.fixture
def pinned_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "backoff", lambda attempt: 0.05)


@pytest.fixture
def make_loop(app_config: dict[str, Any], tmp_path: Path) -> Iterator[Callable[..., Loop]]:
    made: list[tuple[Loop, Any]] = []

    def factory(**relay_overrides: Any) -> Loop:
        central_app = central_system.create_app({
            "DATABASE": str(tmp_path / f"central{len(made)}.sqlite3"),
            "SECRET_KEY": "central-test-secret-key-0123456789",
            "INTAKE_SECRET": app_config["CENTRAL_SECRET"],
            "EVENTS_SECRET": app_config["CENTRAL_EVENTS_SECRET"],
            # Generous: a loaded CI machine must not turn a slow answer into a lost event.
            "EVENT_TIMEOUT": (5.0, 15.0),
            "EVENT_RETRIES": 2,
        })
        chaos = Chaos(central_app.wsgi_app)
        central_app.wsgi_app = chaos  # type: ignore[method-assign]
        central = LiveServer(central_app)
        relay_app = create_app({**app_config, "CENTRAL_URL": central.url,
                                "OUTBOX_POLL_SECONDS": 0.02, "HTTP_TIMEOUT": 2.0,
                                **relay_overrides})
        relay = LiveServer(relay_app)
        relay_app.config["PUBLIC_URL"] = relay.url
        central_app.config["RELAY_URL"] = relay.url
        with relay_app.app_context():
            site, secret = sites.create_site("Báo Thanh Hóa", ["https://baothanhhoa.example"])
        loop = Loop(relay_app, central_app, chaos, relay, central, site, secret)
        made.append((loop, relay_app))
        return loop

    yield factory
    for loop, relay_app in made:
        loop.stop_workers()
        loop.relay.stop()
        loop.central.stop()
        loop.http.close()
        db.get_engine(relay_app).dispose()
