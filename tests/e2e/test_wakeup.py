"""On PostgreSQL a committed submission wakes an idle worker at once (LISTEN/NOTIFY)."""

from __future__ import annotations

import os
import time

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import wait_for
from widget_server.store import db


def _listening(loop) -> bool:
    with db.get_engine(loop.relay_app).connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'idle' AND query LIKE 'LISTEN %'")).scalar_one())


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("PHANHOI_TEST_DATABASE_URL"),
                    reason="PHANHOI_TEST_DATABASE_URL is not set")
def test_idle_worker_wakes_on_notify(make_loop):
    loop = make_loop(OUTBOX_POLL_SECONDS=30.0)  # polling alone would take up to 30 s
    worker = loop.start_worker()
    # Idle: its first poll found nothing and its LISTEN has completed (the session sits idle
    # after it), so only the notification can bring the submission in before the interval.
    wait_for(lambda: worker.waker._conn is not None, timeout=30)
    wait_for(lambda: _listening(loop), timeout=30)
    started = time.monotonic()
    created = loop.submit()
    wait_for(lambda: loop.lookup(created["tracking_code"])["status"] == "forwarded", timeout=25)
    # Well inside the 30 s interval, with room for a busy machine.
    assert time.monotonic() - started < 15.0
    stopping = time.monotonic()
    loop.stop_workers()
    assert time.monotonic() - stopping < 15.0  # stop() is not held up by the 30 s interval
