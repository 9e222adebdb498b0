"""Change counters: what a process may cache, and when to drop it.

The ``versions`` table holds one counter per kind of cached data. Database triggers
(migration 0009) bump it in the same transaction as every insert, update or delete of
the tables behind it, whichever process or host writes, so nothing a writer forgets can
leave a stale cache:

- ``sites``: the ``sites`` table (keys, names, origins, settings, secret keys, activation);
- ``reference``: the central system's lists (``reference_lists``);
- ``results``: the published results (``published_results``).

Each process reads the counters at most once per ``VERSION_CHECK_SECONDS`` (default 1 s;
a monotonic-time check on the request that needs them, no thread) and a cache keyed by
them is dropped as soon as they move.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Engine

from widget_server.store import db, watch
from widget_server.store.db import metadata

T = TypeVar("T")
KINDS = ("sites", "reference", "results")
#: The tables each counter follows (migration 0009 puts a trigger on each).
WATCHED = watch.WATCHED

versions = sa.Table(
    "versions",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
)


class Versions:
    """The counters as this process last read them, re-read at most every ``interval`` seconds."""

    def __init__(self, engine: Engine, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._checked = float("-inf")
        self._values: dict[str, int] = {}

    def current(self) -> dict[str, int]:
        now = self.clock()
        if now - self._checked < self.interval:
            return self._values
        with db.read(self.engine) as conn:  # a store that cannot answer: 503, as for any read
            rows = conn.execute(sa.select(versions.c.name, versions.c.n)).all()
        with self._lock:
            self._values = {name: int(n) for name, n in rows}
            self._checked = now
        return self._values

    def token(self, *kinds: str) -> tuple[int, ...]:
        values = self.current()
        return tuple(values.get(k, 0) for k in kinds)

    def expire(self) -> None:
        """Read the counters on the next call (after a write made by this process)."""
        self._checked = float("-inf")


class VersionedCache:
    """Values made once per version of the given kinds; at most ``limit`` entries."""

    def __init__(self, versions_: Versions, kinds: tuple[str, ...], limit: int = 2048) -> None:
        self.versions = versions_
        self.kinds = kinds
        self.limit = limit
        self._lock = threading.Lock()
        self._token: tuple[int, ...] | None = None
        self._entries: dict[Any, Any] = {}

    def token(self) -> tuple[int, ...]:
        token = self.versions.token(*self.kinds)
        if token != self._token:
            with self._lock:
                if token != self._token:
                    self._entries = {}
                    self._token = token
        return token

    def get(self, key: Any, make: Callable[[], T]) -> T:
        return self._get(key, make, keep_none=True)  # type: ignore[return-value]

    def get_present(self, key: Any, make: Callable[[], T | None]) -> T | None:
        """As ``get``, but a ``None`` from ``make`` is not kept (asked again next time)."""
        return self._get(key, make, keep_none=False)

    def _get(self, key: Any, make: Callable[[], T | None], *, keep_none: bool) -> T | None:
        token = self.token()
        entries = self._entries
        if key in entries:
            return entries[key]  # type: ignore[no-any-return]
        value = make()
        if value is not None or keep_none:
            self._keep(token, key, value)
        return value

    def _keep(self, token: tuple[int, ...], key: Any, value: Any) -> None:
        with self._lock:
            if token == self._token:
                if len(self._entries) >= self.limit:
                    self._entries = {}  # many distinct keys: start over rather than grow
                self._entries[key] = value

    def clear(self) -> None:
        with self._lock:
            self._entries = {}


def current() -> Versions:
    """This app's counters (one reader per process and app)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("phanhoi_versions")
    if found is None:
        found = app.extensions["phanhoi_versions"] = Versions(
            db.get_engine(app), float(app.config.get("VERSION_CHECK_SECONDS", 1.0)))
    return found  # type: ignore[no-any-return]


def cache(name: str, *kinds: str, limit: int = 2048) -> VersionedCache:
    """This app's cache called ``name``, dropped whenever one of ``kinds`` moves."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    caches = app.extensions.setdefault("phanhoi_caches", {})
    found = caches.get(name)
    if found is None:
        found = caches[name] = VersionedCache(current(), kinds, limit)
    return found  # type: ignore[no-any-return]
