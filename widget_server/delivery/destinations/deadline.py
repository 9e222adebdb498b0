"""A deadline for a whole HTTP attempt, not for each read.

``requests`` bounds the connect and each read of the socket (``PHANHOI_HTTP_TIMEOUT``), never
the whole exchange: a central system that sends its headers at once and then a byte every
few seconds kept an attempt open for minutes. Its lease ran out meanwhile, another round
claimed the row, and the central system got the same event several times at once while
each copy held one of the worker's threads.

Here an attempt has a deadline: the connections of the sessions made by ``http.session``
tell the attempt running in their thread which socket they read from (``_Watched*``), and
one watchdog thread per process shuts that socket down when the deadline passes. The
blocked read fails at once; ``http.attempt`` reports a timeout, to be tried again. Email
notices (``smtp.py``) hand their SMTP connection's socket to the same watch.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests.adapters
import urllib3.connection
import urllib3.connectionpool


class Watch:
    """One attempt's deadline and the socket it reads from."""

    __slots__ = ("at", "expired", "done", "_sock", "_lock")

    def __init__(self, at: float) -> None:
        self.at = at
        self.expired = False
        self.done = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def reads_from(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                _shut(sock)

    def finish(self) -> None:
        """The attempt is over: the watchdog leaves its socket alone from now on."""
        with self._lock:
            self.done = True

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            _shut(self._sock)


def _shut(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """Expires watches at their deadline, in one thread per process (started when first needed)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._pid = -1

    def add(self, watch: Watch) -> None:
        with self._cond:
            if self._pid != os.getpid():  # none yet, or inherited through fork without its thread
                self._pid, self._heap = os.getpid(), []
                threading.Thread(target=self._run, name="http-deadline", daemon=True).start()
            heapq.heappush(self._heap, (watch.at, next(self._order), watch))
            if self._heap[0][2] is watch:
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    watch = heapq.heappop(self._heap)[2]
                    if not watch.done:
                        watch.expire()
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


_watchdog = _Watchdog()
_current = threading.local()
_bound = threading.local()


@contextlib.contextmanager
def at_most(seconds: float) -> Iterator[None]:
    """Attempts made in this thread inside the block end within ``seconds`` even when their own
    deadline is later (the worker: what is left of the row's lease, so no other round takes
    the row while this attempt is still sending it)."""
    outer = getattr(_bound, "at", None)
    _bound.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _bound.at = outer


def seconds_for(total: float) -> float:
    """``total``, or less when ``at_most`` bounds this thread's attempts."""
    at = getattr(_bound, "at", None)
    return total if at is None else min(total, at - time.monotonic())


@contextlib.contextmanager
def within(seconds: float) -> Iterator[Watch]:
    """The HTTP exchange made in this thread inside the block ends within ``seconds``."""
    watch = Watch(time.monotonic() + max(seconds, 0.0))
    outer = getattr(_current, "watch", None)
    _current.watch = watch
    _watchdog.add(watch)
    try:
        yield watch
    finally:
        watch.finish()
        _current.watch = outer


def _reading(sock: Any) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None and isinstance(sock, socket.socket):
        watch.reads_from(sock)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _reading(self.sock)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:  # a pooled connection, reused
        _reading(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _reading(self.sock)  # an SSLSocket is a socket: shutting it down cuts the TLS reads too

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _reading(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class Adapter(requests.adapters.HTTPAdapter):
    """``HTTPAdapter`` whose connections let ``within`` cut an exchange at its deadline (proxied
    connections are bounded by the per-read timeouts only)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
