"""A worker's delivery threads: a bounded pool that keeps several attempts in flight.

The worker's own thread claims rows and records results, several in one transaction
(``queue.settle``); the pool's threads only make attempts. The pool holds up to
``depth`` rows (``DEPTH`` per thread): those beyond the free threads wait, and a thread
that has delivered takes the next waiting row itself, so the threads keep sending while
the worker's thread records and claims (one commit per round, not one per delivery).
A row waits at most a round or two, far inside its lease. After any attempt that did not
deliver, no waiting row starts until the worker's thread has recorded the results and
applied the halts they cause (``launch``), so a halt (pause, ``Retry-After``, an opened
breaker) counts for the rows claimed before it. The claim holds back a submission's later
events while an earlier one is pending, so one submission never has two rows in flight.

What a thread reports for a row (:class:`Attempt`): a ``result`` to record; or
``release`` — not tried (the worker is stopping, the destination was halted after
the row was claimed, or too little of the lease is left), give it back uncharged;
or neither — nothing to record (a notice cancelled meanwhile, or an unexpected error:
the row stays leased and comes due again when the lease ends, as after a crash).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from widget_server.delivery.destinations.base import Result
from widget_server.delivery.queue import Claimed

log = logging.getLogger("widget_server.worker")

#: Rows a pool holds per thread. Measured on a 10,000 backlog (2 shared cores, 32 threads):
#: 2 → ~490 rows/s, 3 → ~630, 4 → ~730; more rows per round, fewer rounds, and the threads
#: keep a row to start however long the round's commit takes.
DEPTH = 4


class Attempt(NamedTuple):
    row: Claimed
    result: Result | None = None  # what the destination answered: to record
    release: bool = False  # not tried: give the row back uncharged


class Pool:
    """``size`` delivery threads; ``attempt`` runs in them, results come back to ``finished``."""

    def __init__(self, size: int, attempt: Callable[[Claimed, int], Attempt], *,
                 depth: int | None = None) -> None:
        self.size = max(int(size), 1)
        #: Rows the pool holds at most (running, waiting, or ended and not collected).
        self.depth = max(int(depth or DEPTH * self.size), self.size)
        self._attempt = attempt
        self._executor = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="outbox")
        self._done: queue.SimpleQueue[Attempt] = queue.SimpleQueue()
        self._waiting: collections.deque[tuple[Claimed, int]] = collections.deque()
        self.running = 0  # rows in a thread, or ended and not yet collected by ``finished``
        self._threads = 0  # threads making attempts
        self._chain = True  # threads may start waiting rows themselves (no failure since launch)
        self.round = 0  # which claim a row came from (see ``halt``)
        self._halted: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """Rows handed to the pool and not yet collected: running, or waiting for a thread."""
        with self._lock:
            return self.running + len(self._waiting)

    @property
    def free(self) -> int:
        """Rows the pool can take now (up to ``depth``)."""
        return max(self.depth - self.in_flight, 0)

    def start(self, rows: list[Claimed]) -> None:
        """Take one claim's rows; as many start as there are free threads, the rest wait."""
        self.round += 1
        with self._lock:
            self._waiting.extend((row, self.round) for row in rows)
        self.launch()

    def launch(self) -> None:
        """Start waiting rows on free threads (after results are recorded, so a halt counts)."""
        with self._lock:
            self._chain = True
            while self._waiting and self._threads < self.size:
                row, claim_round = self._waiting.popleft()
                self.running += 1
                self._threads += 1
                self._executor.submit(self._run, row, claim_round)

    def halt(self, destination: str) -> None:
        """Start no more rows of ``destination`` that were claimed before now (pause, breaker)."""
        with self._lock:
            self._halted[destination] = self.round

    def halted(self, destination: str, claim_round: int) -> bool:
        with self._lock:
            return self._halted.get(destination, 0) >= claim_round

    def _run(self, row: Claimed, claim_round: int) -> None:
        while True:
            try:
                done = self._attempt(row, claim_round)
            except Exception:  # the row stays leased and comes due again, as after a crash
                log.exception("outbox %s: attempt failed", row.id)
                done = Attempt(row)
            with self._lock:
                self._done.put(done)
                if done.result is not None and not done.result.ok:
                    self._chain = False  # the next rows wait until this result is recorded
                if not (self._chain and self._waiting):
                    self._threads -= 1
                    return
                row, claim_round = self._waiting.popleft()
                self.running += 1

    def finished(self, timeout: float | None, *, want: int = 1, gather: float = 0.0) -> list[Attempt]:
        """Attempts that ended: wait up to ``timeout`` (None: forever) for one, then up to
        ``gather`` seconds more until ``want`` have ended, and take all that are ready."""
        done: list[Attempt] = []
        if self.running:
            try:
                done.append(self._done.get(timeout=timeout))
            except queue.Empty:
                return []
            until = time.monotonic() + gather
            while True:
                try:
                    done.append(self._done.get_nowait())
                except queue.Empty:
                    left = until - time.monotonic()
                    if len(done) >= min(want, self.running) or left <= 0:
                        break
                    try:
                        done.append(self._done.get(timeout=left))
                    except queue.Empty:
                        break
        with self._lock:
            self.running -= len(done)
        return done

    def close(self) -> None:
        self._executor.shutdown(wait=True)
