"""The outbox worker: ``phanhoi-widget worker`` and the ``outbox`` operator commands.

Any number of workers, on any number of hosts, share one queue through the
database (see ``queue.claim``). A worker stops gracefully on SIGTERM/SIGINT:
it finishes the delivery in flight, gives back the rows it claimed but did not
try, and exits.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from typing import Any

from flask import Flask

from widget_server.intake import attachments
from widget_server.store import db
from widget_server.delivery import notices, queue
from widget_server.intake import status_events
from widget_server.store.outbox import NOTIFY_CHANNEL
from widget_server.delivery.destinations import (
    Destination,
    Event,
    Result,
    UnknownDestinationError,
    build,
)

log = logging.getLogger("widget_server.worker")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"



def record_delivery(conn: Any, row: queue.Claimed, result: Result) -> None:
    """The central system has the submission: record it with the delivery (one transaction)."""
    if row.event_type == "submission.created" and row.submission_id:
        status_events.mark_forwarded(conn, row.submission_id, result.remote_id, result.remote_status)
    notices.record_sent(conn, row, result)

class Waker:
    """How an idle worker waits: LISTEN/NOTIFY on PostgreSQL, a plain timed wait elsewhere.

    A notification only shortens the wait; the poll still runs, so a lost
    notification (or a retry that comes due later) costs at most one interval.
    """

    def __init__(self, engine: Any, stop_event: threading.Event) -> None:
        self.engine = engine
        self.stop_event = stop_event
        self._conn: Any = None
        self._failed_at = 0.0

    def _listen(self) -> Any:
        if self._conn is not None or self.engine.dialect.name != "postgresql":
            return self._conn
        if time.monotonic() - self._failed_at < 30:
            return None
        try:
            import psycopg

            url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
            self._conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except Exception as exc:  # noqa: BLE001 - fall back to polling
            log.warning("outbox notifications unavailable, polling only: %s", type(exc).__name__)
            self._failed_at = time.monotonic()
            self.close()
        return self._conn

    def wait(self, timeout: float) -> None:
        conn = self._listen()
        if conn is None:
            self.stop_event.wait(timeout)
            return
        deadline = time.monotonic() + timeout
        try:
            # Short slices, so stop() is noticed quickly even with a long poll interval.
            while not self.stop_event.is_set() and (left := deadline - time.monotonic()) > 0:
                if any(True for _ in conn.notifies(timeout=min(left, 0.5), stop_after=1)):
                    return
        except Exception as exc:  # noqa: BLE001 - a dropped connection: reconnect later
            log.warning("outbox notifications lost (%s); reconnecting", type(exc).__name__)
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection
                pass
            self._conn = None


class Worker:
    """Claims due outbox rows and delivers them, one at a time, until stopped."""

    def __init__(self, app: Flask, worker_id: str | None = None, *, batch: int = 10,
                 destinations: dict[str, Destination] | None = None) -> None:
        self.app = app
        self.id = worker_id or default_worker_id()
        self.batch = batch
        self.stop_event = threading.Event()
        self._destinations: dict[str, Destination] = dict(destinations or {})
        self._owned: set[str] = set()  # adapters this worker built (and closes)
        self._unusable: set[str] = set()
        self.waker = Waker(db.get_engine(app), self.stop_event)
        self._next_read_back = 0.0  # monotonic time of the next Open311 read-back

    @property
    def engine(self) -> Any:
        return db.get_engine(self.app)

    def policy(self) -> queue.Policy:
        return queue.Policy.from_config(self.app.config)

    def destination(self, name: str) -> Destination | None:
        if name not in self._destinations:
            try:
                self._destinations[name] = build(name, self.app.config)
            except (UnknownDestinationError, ValueError) as exc:
                if name not in self._unusable:  # once per worker, not once per row
                    log.error("destination %s is not usable: %s", name, exc)
                    self._unusable.add(name)
                return None
            self._owned.add(name)
        return self._destinations[name]

    def event_for(self, row: queue.Claimed) -> Event | None:
        """The row's event, with attachment links signed now: links expire, retries may be days later.

        A notice gets its message and recipient now too; None: it is no longer due (cancelled).
        """
        event = row.event()
        if event.data.get("attachments"):
            with self.app.app_context():
                event = dataclasses.replace(event, data=attachments.refresh_urls(event.data))
        return notices.event_for(self.app, row, self.id, event)

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        for name in self._owned:
            self._destinations[name].close()

    def run_once(self) -> int:
        """Claim one batch and deliver it; the number of attempts made."""
        policy = self.policy()
        rows = queue.claim(self.engine, self.id, policy, limit=self.batch)
        attempted = 0
        halted: set[str] = set()
        for index, row in enumerate(rows):
            if self.stop_event.is_set():
                queue.release(self.engine, rows[index:], self.id)
                break
            if row.destination in halted:
                queue.release(self.engine, [row], self.id)
                continue
            destination = self.destination(row.destination)
            unknown = notices.unknown_outcome(row)
            if unknown is not None:
                result = unknown  # handed over by a worker that died: never sent blindly again
            elif destination is None:
                result = Result("retry", error=f"destination {row.destination!r} not configured")
            else:
                event = self.event_for(row)
                if event is None:
                    continue
                started = time.monotonic()
                result = destination.deliver(event)
                log.info("outbox %s %s attempt %d: %s %s (%.0f ms)", row.id, row.event_type,
                         row.attempts, result.outcome, result.status or result.error or "",
                         (time.monotonic() - started) * 1000)
            attempted += 1
            recorded = queue.record(self.engine, row, result, self.id, policy,
                                    on_delivered=record_delivery)
            if recorded.state == "dead":
                log.warning("outbox %s is dead after %d attempts (%s)", row.id, row.attempts,
                            result.status or result.error)
            if recorded.destination_open:
                # Stop spending attempts: the rest of this batch waits for the destination.
                halted.add(row.destination)
        return attempted

    def read_back(self) -> bool:
        """Every ``OPEN311_SYNC_MINUTES``, read Open311 statuses back (``open311_sync``); True if it ran."""
        minutes = float(self.app.config.get("OPEN311_SYNC_MINUTES") or 0)
        if minutes <= 0 or not self.app.config.get("OPEN311_URL"):
            return False
        if time.monotonic() < self._next_read_back:
            return False
        self._next_read_back = time.monotonic() + minutes * 60
        from widget_server.delivery import open311_sync
        from widget_server.delivery.destinations.open311 import Open311Destination

        destination = self.destination("open311")
        if not isinstance(destination, Open311Destination):
            return False
        try:
            with self.app.app_context():
                open311_sync.sync(destination, self.engine)
        except Exception:  # a read-back failure must not hold up deliveries
            log.exception("worker %s: Open311 read-back failed", self.id)
            return False
        return True

    def run(self, *, once: bool = False) -> None:
        """Loop until :meth:`stop` (or, with ``once``, until nothing is due)."""
        poll = float(self.app.config["OUTBOX_POLL_SECONDS"])
        log.info("worker %s started", self.id)
        try:
            while not self.stop_event.is_set():
                try:
                    self.read_back()
                    attempted = self.run_once()
                except Exception:  # a database hiccup must not end the worker
                    log.exception("worker %s: delivery round failed", self.id)
                    if once:
                        raise
                    self.stop_event.wait(max(poll, 1.0))
                    continue
                if once and attempted == 0:
                    break
                if attempted == 0:
                    self.waker.wait(poll)
        finally:
            self.waker.close()
            self.close()
            log.info("worker %s stopped", self.id)
