"""``phanhoi-widget worker`` and ``phanhoi-widget outbox``: run the delivery queue and operate it."""

from __future__ import annotations

import json
import logging
import signal
from types import FrameType
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from flask.logging import default_handler

from widget_server.delivery import queue
from widget_server.delivery.operators import STATES
from widget_server.cli.open311 import open311_group
from widget_server.delivery.worker import Worker
from widget_server.store import db
from widget_server.vocab import DESTINATIONS

log = logging.getLogger("widget_server.worker")

@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--id", "worker_id", default=None, help="Name in leases and logs (default host:pid).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Deliveries at a time (default PHANHOI_OUTBOX_CONCURRENCY).")
@with_appcontext
def worker_command(once: bool, worker_id: str | None, concurrency: int | None) -> None:
    """Run the outbox worker: forward submissions and events to the central system."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # A database out of reach at start (a wrong PHANHOI_DATABASE_URL, a server down) is one line and
    # exit 1, as for every other command, not a traceback logged each second; once running, a
    # lost database is waited for.
    with db.get_engine(app).connect():
        pass
    if not logging.getLogger().handlers:
        logging.basicConfig(level=app.config["LOG_LEVEL"],
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        app.logger.removeHandler(default_handler)  # the root's handler prints each line once
    worker = Worker(app, worker_id, concurrency=concurrency)

    def _graceful(signum: int, _frame: FrameType | None) -> None:
        log.info("worker %s: %s received, finishing the deliveries in flight",
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
@click.option("--state", type=click.Choice(STATES), default=None)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@with_appcontext
def outbox_list(state: str | None, limit: int, as_json: bool) -> None:
    """List outbox rows, newest first (ids and tracking codes only)."""
    engine = db.get_engine()
    rows = queue.list_rows(engine, state=state, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    for dest in queue.list_destinations(engine):
        note = f" ({dest['reason']})" if dest.get("reason") else ""
        opened = f", breaker open until {_fmt(dest['open_until'])}" if dest.get("open_until") else ""
        click.echo(f"# {dest['name']}: {dest['state']}{note}{opened}")
    if not rows:
        click.echo("Không có bản ghi nào. / No rows.")
        return
    for row in rows:  # only a pending row has a next attempt
        when = {"pending": f"  next={_fmt(row['next_attempt_at'])}",
                "delivered": f"  delivered={_fmt(row['delivered_at'])}"}.get(row["state"], "")
        click.echo(f"{row['id']}  {row['state']:<9} {row['event_type']:<24} "
                   f"{row['tracking_code'] or '-':<12} attempts={row['attempts']:<3} "
                   f"last={_fmt(row['last_status'] or row['last_error'])}{when}")


@outbox_group.command("retry")
@click.argument("ids", nargs=-1)
@click.option("--all-dead", is_flag=True, help="Replay every dead row.")
@with_appcontext
def outbox_retry(ids: tuple[str, ...], all_dead: bool) -> None:
    """Put dead rows (by id, or all of them) back in the queue, due now; exit 1 if an id is unknown."""
    if not ids and not all_dead:
        raise click.UsageError("Give outbox ids or --all-dead.")
    count, refused = queue.requeue(db.get_engine(), list(ids), all_dead=all_dead)
    click.echo(f"Đã xếp lại {count} bản ghi. / {count} row(s) queued again.")
    for row_id, why in refused.items():  # each id not queued again, and why
        click.echo(f"{row_id}: {REFUSED.get(why) or f'{why}, không xếp lại. / Not queued again.'}", err=True)
    if "unknown" in refused.values():  # a mistyped id is the operator's error, not a state
        raise SystemExit(1)


#: Why ``outbox retry`` left an id alone, besides a state it cannot leave (delivered, cancelled).
REFUSED = {"unknown": "không có bản ghi này. / No such row.",
           "leased": "đang được gửi, không xếp lại. / Being sent now."}


@outbox_group.command("resume")
@click.argument("names", nargs=-1, type=click.Choice(tuple(DESTINATIONS)))
@with_appcontext
def outbox_resume(names: tuple[str, ...]) -> None:
    """Resume paused or disabled destinations (all of them without NAMES)."""
    resumed = queue.resume(db.get_engine(), list(names) or None)
    if not resumed:
        click.echo("Không có đích nào bị tạm dừng. / Nothing was paused.")
    for name in resumed:
        click.echo(f"{name}: active")


COMMANDS = (worker_command, outbox_group, open311_group)
