"""A per-process cache of public answers, dropped the moment a result changes.

Everything the board, the API, the feed and the Open311 view answer is public and
the same for every reader, so it is made once per version of the results table.
The version (row count and newest ``updated_at``) is read at most once every
``RESULTS_CACHE_SECONDS`` (default 1 s); an event applied in this process drops the
cache at once. So a withdrawn result leaves this relay's outputs within that second
on every worker; HTTP caches in front are told ``max-age`` (``RESULTS_MAX_AGE``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app

from widget_server.store import db
from widget_server.store.published import results

T = TypeVar("T")
MAX_ENTRIES = 1024


class PublicCache:
    def __init__(self, check_seconds: float) -> None:
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._version = ""
        self._checked = float("-inf")
        self._entries: dict[str, Any] = {}

    def version(self) -> str:
        now = time.monotonic()
        if now - self._checked < self.check_seconds:
            return self._version
        with db.read() as conn:
            count, newest = conn.execute(
                sa.select(sa.func.count(), sa.func.max(results.c.updated_at))).one()
        version = f"{count}.{newest.timestamp() if newest else 0}"
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            self._checked = now
        return version

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()
            self._checked = float("-inf")

    def get(self, key: str, make: Callable[[], T]) -> T:
        version = self.version()
        found = self._entries.get(key)
        if found is not None and found[0] == version:
            return found[1]  # type: ignore[no-any-return]
        value = make()
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()  # many distinct searches: start over rather than grow
            if version == self._version:
                self._entries[key] = (version, value)
        return value


def public_cache() -> PublicCache:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("phanhoi_results_cache")
    if found is None:
        found = app.extensions["phanhoi_results_cache"] = PublicCache(
            float(app.config.get("RESULTS_CACHE_SECONDS", 1.0)))
    return found  # type: ignore[no-any-return]
