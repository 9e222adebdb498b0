"""The outbox worker: ``phanhoi-widget worker`` and the ``outbox`` operator commands.

Any number of workers, on any number of hosts, share one queue through the
database (see ``outbox.claim``). A worker stops gracefully on SIGTERM/SIGINT:
it finishes the delivery in flight, gives back the rows it claimed but did not
try, and exits.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import attachments, db, outbox
from .destinations import Destination, Event, Result, UnknownDestinationError, build

log = logging.getLogger("widget_server.worker")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


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
            self._conn.execute(f"LISTEN {outbox.NOTIFY_CHANNEL}")
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

    def policy(self) -> outbox.Policy:
        return outbox.Policy.from_config(self.app.config)

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

    def event_for(self, row: outbox.Claimed) -> Event:
        """The row's event, with attachment links signed now: links expire, retries may be days later."""
        event = row.event()
        if event.data.get("attachments"):
            with self.app.app_context():
                event = dataclasses.replace(event, data=attachments.refresh_urls(event.data))
        return event

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        for name in self._owned:
            self._destinations[name].close()

    def run_once(self) -> int:
        """Claim one batch and deliver it; the number of attempts made."""
        policy = self.policy()
        rows = outbox.claim(self.engine, self.id, policy, limit=self.batch)
        attempted = 0
        halted: set[str] = set()
        for index, row in enumerate(rows):
            if self.stop_event.is_set():
                outbox.release(self.engine, rows[index:], self.id)
                break
            if row.destination in halted:
                outbox.release(self.engine, [row], self.id)
                continue
            destination = self.destination(row.destination)
            if destination is None:
                result = Result("retry", error=f"destination {row.destination!r} not configured")
            else:
                started = time.monotonic()
                result = destination.deliver(self.event_for(row))
                log.info("outbox %s %s attempt %d: %s %s (%.0f ms)", row.id, row.event_type,
                         row.attempts, result.outcome, result.status or result.error or "",
                         (time.monotonic() - started) * 1000)
            attempted += 1
            recorded = outbox.record(self.engine, row, result, self.id, policy)
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
        from . import open311_sync
        from .destinations.open311 import Open311Destination

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


# --------------------------------------------------------------------------- commands


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--id", "worker_id", default=None, help="Name in leases and logs (default host:pid).")
@with_appcontext
def worker_command(once: bool, worker_id: str | None) -> None:
    """Run the outbox worker: forward submissions and events to the central system."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not logging.getLogger().handlers:
        logging.basicConfig(level=app.config["LOG_LEVEL"],
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    worker = Worker(app, worker_id)

    def _graceful(signum: int, _frame: FrameType | None) -> None:
        log.info("worker %s: %s received, finishing the current delivery",
                 worker.id, signal.Signals(signum).name)
        worker.stop()

    previous = {sig: signal.signal(sig, _graceful) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.run(once=once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


outbox_group = click.Group("outbox", help="The delivery queue: list, replay, resume.")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


@outbox_group.command("list")
@click.option("--state", type=click.Choice(["pending", "delivered", "dead", "cancelled"]), default=None)
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def outbox_list(state: str | None, limit: int, as_json: bool) -> None:
    """List outbox rows, newest first (ids and tracking codes only)."""
    engine = db.get_engine()
    rows = outbox.list_rows(engine, state=state, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    for dest in outbox.list_destinations(engine):
        note = f" ({dest['reason']})" if dest.get("reason") else ""
        opened = f", breaker open until {_fmt(dest['open_until'])}" if dest.get("open_until") else ""
        click.echo(f"# {dest['name']}: {dest['state']}{note}{opened}")
    if not rows:
        click.echo("Không có bản ghi nào. / No rows.")
        return
    for row in rows:
        click.echo(f"{row['id']}  {row['state']:<9} {row['event_type']:<24} "
                   f"{row['tracking_code'] or '-':<12} attempts={row['attempts']:<3} "
                   f"last={_fmt(row['last_status'] or row['last_error'])}  "
                   f"next={_fmt(row['next_attempt_at'])}")


@outbox_group.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all-dead", is_flag=True, help="Replay every dead row.")
@with_appcontext
def outbox_retry(ids: tuple[str, ...], all_dead: bool) -> None:
    """Put dead rows (by id, or all of them) back in the queue, due now."""
    if not ids and not all_dead:
        raise click.UsageError("Give outbox ids or --all-dead.")
    count = outbox.retry_rows(db.get_engine(), list(ids), all_dead=all_dead)
    click.echo(f"Đã xếp lại {count} bản ghi. / {count} row(s) queued again.")


@outbox_group.command("resume")
@click.argument("names", nargs=-1)
@with_appcontext
def outbox_resume(names: tuple[str, ...]) -> None:
    """Resume paused or disabled destinations (all of them without NAMES)."""
    resumed = outbox.resume(db.get_engine(), list(names) or None)
    if not resumed:
        click.echo("Không có đích nào bị tạm dừng. / Nothing was paused.")
    for name in resumed:
        click.echo(f"{name}: active")


def _open311_group() -> click.Group:
    from .open311_sync import open311_group

    return open311_group


COMMANDS = (worker_command, outbox_group, _open311_group())
