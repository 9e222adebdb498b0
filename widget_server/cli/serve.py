"""``phanhoi-widget serve``: gunicorn on the app, migrations applied first."""

from __future__ import annotations

import math
import os
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from widget_server.store import db



@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=None, type=click.IntRange(min=1),
              help="gunicorn workers (default: one per CPU with a shared limit store, else 1)")
@with_appcontext
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the relay with gunicorn (run `worker` beside it to forward submissions)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    workers = workers or _default_workers(app)
    if workers > 1 and _limits_in_process_memory(app):
        # Each worker would count on its own: N workers allow N times every limit.
        raise click.UsageError(
            f"--workers {workers} với PHANHOI_RATELIMIT_STORAGE_URI=memory:// sẽ nhân giới hạn "
            f"lên {workers} lần. Đặt PHANHOI_RATELIMIT_STORAGE_URI=redis://… hoặc dùng --workers 1. / "
            f"{workers} workers with in-memory rate limits would allow {workers} times every limit: "
            "set PHANHOI_RATELIMIT_STORAGE_URI to a shared store (redis://…) or serve with --workers 1.")
    _limit_store_answers(app)
    db.upgrade(db.get_engine(app))
    # A request waiting for a locked store answers 503 after STORE_WAIT_SECONDS: the worker's
    # timeout is longer, so gunicorn never kills a worker that was about to answer.
    timeout = max(30, math.ceil(float(app.config["STORE_WAIT_SECONDS"])) + 20)
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}", "--workers", str(workers),
            "--timeout", str(timeout),
            "--access-logfile", "-", "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss %({x-request-id}o)s',
            # Control characters in a path are escaped: a %0a cannot start a forged log line.
            "--logger-class", "widget_server.web.logs.AccessLogger",
            *_no_control_socket(),
            "widget_server.wsgi:app"]
    # The access log prints paths without query strings: an old client's lookup has ?contact=.
    os.execvp(argv[0], argv)  # noqa: S606 - replaces this process with gunicorn, no shell


def _no_control_socket() -> list[str]:
    """gunicorn 27 opens a control socket at ``~/.gunicorn/gunicorn.ctl``: one path for every
    `serve` of the user, so a second one took the first's, and a service account without a
    writable home had none. The relay is run by signals (SIGTERM, SIGHUP), not through it."""
    from gunicorn.config import KNOWN_SETTINGS

    return ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []


def _limit_store_answers(app: Flask) -> None:
    """A shared limit store that does not answer (Redis down, a wrong host or port) would let every
    request through unlimited without a word: a citizen's submission never fails on the limit
    store (RATELIMIT_SWALLOW_ERRORS). At start that is a mistake to fix, so say so and stop."""
    from widget_server.settings_check import shown_url

    if not app.config.get("RATELIMIT_ENABLED", True) or _limits_in_process_memory(app):
        return
    try:
        answers = bool(app.extensions["phanhoi_limiter"].storage.check())
    except Exception:  # noqa: BLE001 - any driver error means the same: it does not answer
        answers = False
    if answers:
        return
    shown = shown_url(str(app.config["RATELIMIT_STORAGE_URI"]))  # never its password
    raise click.ClickException(
        f"Kho giới hạn tần suất không trả lời ({shown}): kiểm tra PHANHOI_RATELIMIT_STORAGE_URI và máy "
        "chủ Redis. / The rate-limit store does not answer: check PHANHOI_RATELIMIT_STORAGE_URI and "
        "the Redis server.")


def _limits_in_process_memory(app: Flask) -> bool:
    enabled = app.config.get("RATELIMIT_ENABLED", True)
    return bool(enabled) and str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://")


def _default_workers(app: Flask) -> int:
    return 1 if _limits_in_process_memory(app) else (os.cpu_count() or 2)
