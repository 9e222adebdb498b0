"""On PostgreSQL a committed submission wakes an idle worker at once (LISTEN/NOTIFY)."""

from __future__ import annotations

import os
import time

import pytest

from tests.e2e.conftest import wait_for


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("PHANHOI_TEST_DATABASE_URL"),
                    reason="PHANHOI_TEST_DATABASE_URL is not set")
def test_idle_worker_wakes_on_notify(make_loop):
    loop = make_loop(OUTBOX_POLL_SECONDS=30.0)  # polling alone would take up to 30 s
    worker = loop.start_worker()
    wait_for(lambda: worker.waker._conn is not None, timeout=5)
    time.sleep(0.3)  # idle: waiting on the channel
    started = time.monotonic()
    created = loop.submit()
    wait_for(lambda: loop.lookup(created["tracking_code"])["status"] == "forwarded", timeout=5)
    assert time.monotonic() - started < 3.0
    stopping = time.monotonic()
    loop.stop_workers()
    assert time.monotonic() - stopping < 3.0  # stop() is not held up by the 30 s interval
