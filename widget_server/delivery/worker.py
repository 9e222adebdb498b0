"""The outbox worker: ``phanhoi-widget worker`` and the ``outbox`` operator commands.

Any number of workers, on any number of hosts, share one queue through the
database (see ``queue.claim``); each makes ``PHANHOI_OUTBOX_CONCURRENCY`` deliveries
at a time (``pool.py``). A worker stops gracefully on SIGTERM/SIGINT: it finishes
the deliveries in flight and records them, gives back the rows it claimed but did
not try, and exits.
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

from widget_server.errors import StoreUnavailableError
from widget_server.intake import attachments
from widget_server.store import db, migrate
from widget_server.delivery import notices, queue
from widget_server.delivery.pool import Attempt, Pool
from widget_server.intake import status_events
from widget_server.delivery.waker import Waker
from widget_server.delivery.destinations import (
    Destination,
    Event,
    Result,
    UnknownDestinationError,
    build,
    deadline,
)

log = logging.getLogger("widget_server.worker")

#: Longest a busy round waits for more deliveries to end, so it records them in one commit.
GATHER_SECONDS = 0.02


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def record_delivery(conn: Any, row: queue.Claimed, result: Result) -> None:
    """The central system has the submission: record it with the delivery (one transaction)."""
    if row.event_type == "submission.created" and row.submission_id:
        status_events.mark_forwarded(conn, row.submission_id, result.remote_id, result.remote_status)
    notices.record_sent(conn, row, result)

def record_deliveries(conn: Any, delivered: list[tuple[queue.Claimed, Result]]) -> None:
    """``record_delivery`` for a batch: the submissions acknowledged in a few statements."""
    status_events.mark_forwarded_many(conn, [
        (row.submission_id, result.remote_id) for row, result in delivered
        if row.event_type == "submission.created" and row.submission_id])
    for row, result in delivered:
        notices.record_sent(conn, row, result)


class Worker:
    """Claims due outbox rows and delivers them, ``concurrency`` at a time, until stopped.

    The worker's thread claims rows for the pool's free threads and records the results,
    several per transaction; the pool's threads make the attempts (``pool.py``).
    """

    def __init__(self, app: Flask, worker_id: str | None = None, *, batch: int | None = None,
                 concurrency: int | None = None,
                 destinations: dict[str, Destination] | None = None) -> None:
        self.app = app
        self.id = worker_id or default_worker_id()
        self.concurrency = max(int(concurrency or app.config.get("OUTBOX_CONCURRENCY") or 1), 1)
        # One at a time claims 10 and tries them in turn; a pool claims what its threads can start.
        self.batch = batch or (self.concurrency if self.concurrency > 1 else 10)
        self.stop_event = threading.Event()
        self._destinations: dict[str, Destination] = dict(destinations or {})
        self._owned: set[str] = set()  # adapters this worker built (and closes)
        self._unusable: set[str] = set()
        self._lock = threading.Lock()  # the adapters, built on first use by any thread
        self.pool = Pool(self.concurrency, self.attempt)
        self._unrecorded: list[tuple[queue.Claimed, Result]] = []
        self._backlog = False  # the last claim found as many rows as it asked for
        self.waker = Waker(db.get_engine(app), self.stop_event)
        self._next_read_back = 0.0  # monotonic time of the next Open311 read-back

    @property
    def engine(self) -> Any:
        return db.get_engine(self.app)

    def policy(self) -> queue.Policy:
        return queue.Policy.from_config(self.app.config)

    def destination(self, name: str) -> Destination | None:
        with self._lock:
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
        self.pool.close()
        for name in self._owned:
            self._destinations[name].close()

    def _lease_too_short(self, row: queue.Claimed) -> bool:
        """Too little of the lease left for an attempt: another worker may take the row meanwhile."""
        lease = float(self.app.config["OUTBOX_LEASE_SECONDS"])
        margin = min(float(self.app.config.get("HTTP_TIMEOUT") or 10.0) + 5.0, lease / 2)
        return (row.lease_until - db.utcnow()).total_seconds() < margin

    def attempt(self, row: queue.Claimed, claim_round: int) -> Attempt:
        """One row, in a pool thread: deliver it, or say why not (see ``pool.Attempt``)."""
        if (self.stop_event.is_set() or self.pool.halted(row.destination, claim_round)
                or self._lease_too_short(row)):
            return Attempt(row, release=True)
        unknown = notices.unknown_outcome(row)
        if unknown is not None:
            return Attempt(row, unknown)  # handed over by a worker that died: never sent blindly again
        destination = self.destination(row.destination)
        if destination is None:
            return Attempt(row, Result("retry", error=f"destination {row.destination!r} not configured"))
        event = self.event_for(row)
        if event is None:
            return Attempt(row)
        started = time.monotonic()
        # Not a moment past the lease: after it another round may claim the row and send it too.
        with deadline.at_most((row.lease_until - db.utcnow()).total_seconds() - 1.0):
            result = destination.deliver(event)
        log.info("outbox %s %s attempt %d: %s %s (%.0f ms)", row.id, row.event_type,
                 row.attempts, result.outcome, result.status or result.error or "",
                 (time.monotonic() - started) * 1000)
        if result.outcome in ("pause", "disable") or result.retry_after:
            self.pool.halt(row.destination)  # now, before this thread takes the next row
        return Attempt(row, result)

    def cycle(self, timeout: float | None, *, claim: bool = True) -> tuple[int, int]:
        """One round: record the attempts that ended (waiting up to ``timeout`` for one) and claim
        rows for the free threads, in one transaction; (attempts recorded, rows claimed).

        A claim is one query over the queue, so while the queue is busy a round waits a moment
        for a quarter of the threads to be free, not one claim and one commit per delivery.
        """
        busy = self.pool.in_flight
        want = max(1, self.concurrency // 4) if self._backlog else 1
        done = self.pool.finished(timeout, want=want, gather=GATHER_SECONDS if busy else 0.0)
        tried = [(a.row, a.result) for a in done if a.result is not None]
        # Kept until recorded, before anything here can fail: a hiccup retries the record, not the delivery.
        self._unrecorded.extend(tried)
        released = [a.row for a in done if a.release]
        if released:  # if this fails, the rows come due again when their lease ends
            queue.release(self.engine, released, self.id)
        free, busy = self.pool.free, self.pool.in_flight
        limit = 0
        if claim and free and not self.stop_event.is_set():
            limit = free if busy else max(self.batch, free)
        if not self._unrecorded and not limit:
            self.pool.launch()
            return 0, 0
        results = self._unrecorded
        try:
            recorded, rows = queue.settle(self.engine, results, self.id, self.policy(), claim=limit,
                                          on_delivered_many=record_deliveries)
        except StoreUnavailableError:
            raise  # the store out of reach: the whole round again next time
        except Exception:
            if not results:
                raise
            results, recorded = self._record_apart(results)
            rows = queue.claim(self.engine, self.id, self.policy(), limit=limit) if limit else []
        self._unrecorded = []
        for (row, result), outcome in zip(results, recorded, strict=True):
            if outcome.state == "dead":
                log.warning("outbox %s is dead after %d attempts (%s)", row.id, row.attempts,
                            result.status or result.error)
            if outcome.destination_open:
                # Stop spending attempts: rows of it claimed so far wait for the destination.
                self.pool.halt(row.destination)
        queue.warn_stopped(results)
        self.pool.launch()  # rows that waited for a thread, now that the halts are known
        self.pool.start(rows)
        self._backlog = bool(limit) and len(rows) == limit
        return len(tried), len(rows)

    def _record_apart(self, results: list[tuple[queue.Claimed, Result]]) -> tuple[
            list[tuple[queue.Claimed, Result]], list[queue.Recorded]]:
        """After a round's record failed for a reason other than the store being out of reach,
        each result in a transaction of its own: one the store refuses holds up no other (it
        failed the whole round, every round, and the worker claimed nothing more). One refused
        alone is let go: its lease ends and it is tried again (its receiver drops the copy by its
        id). The store lost meanwhile: the rest wait for the next round."""
        kept: list[tuple[queue.Claimed, Result]] = []
        outcomes: list[queue.Recorded] = []
        for i, pair in enumerate(results):
            try:
                outcomes += queue.settle(self.engine, [pair], self.id, self.policy(),
                                         on_delivered_many=record_deliveries)[0]
            except StoreUnavailableError:
                self._unrecorded = results[i:]
                raise
            except Exception as exc:  # noqa: BLE001 - the type only: a store's message may quote the row
                log.error("worker %s: the store refused the result of outbox %s (%s); it is tried "
                          "again after its lease", self.id, pair[0].id, type(exc).__name__)
                continue
            kept.append(pair)
        return kept, outcomes

    def run_once(self) -> int:
        """Claim one batch, deliver it and record the results; the number of attempts made."""
        rows = queue.claim(self.engine, self.id, self.policy(), limit=self.batch)
        self.pool.start(rows)
        attempted = 0
        while self.pool.in_flight or self._unrecorded:
            attempted += self.cycle(None, claim=False)[0]
        return attempted

    def finish(self) -> None:
        """On the way out: rows in flight finish and are recorded; those not started are released."""
        self.stop_event.set()
        try:
            while self.pool.in_flight or self._unrecorded:
                self.cycle(None, claim=False)
        except Exception:  # the rows stay leased and come due again when the lease ends
            log.exception("worker %s: recording the last deliveries failed", self.id)

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
        log.info("worker %s started (%d at a time)", self.id, self.concurrency)
        try:
            while not self.stop_event.is_set():
                try:
                    self.read_back()
                    claimed = self.cycle(poll if self.pool.in_flight else 0)[1]
                except Exception as exc:  # a database hiccup must not end the worker
                    # No schema yet (a line every 30 s), or the database out of reach (down, restarting:
                    # its reason): one line each, not a traceback a second; anything else in full.
                    bare = migrate.missing_tables(exc)
                    lost = "" if bare else migrate.out_of_reach(exc)
                    said = migrate.NO_TABLES if bare else "delivery round failed" + (f": {lost}" if lost else "")
                    log.error("worker %s: %s", self.id, said, exc_info=not (bare or lost))
                    if once:
                        raise
                    self.stop_event.wait(30.0 if bare else max(poll, 1.0))
                    continue
                if claimed == 0 and not self.pool.in_flight:
                    if once:
                        break
                    self.waker.wait(poll)
        finally:
            self.finish()
            self.waker.close()
            self.close()
            log.info("worker %s stopped", self.id)
