"""How an idle outbox worker waits for work: LISTEN/NOTIFY on PostgreSQL, a timed wait elsewhere."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from widget_server.store.outbox import NOTIFY_CHANNEL

log = logging.getLogger("widget_server.worker")


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
