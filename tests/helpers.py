"""Helpers shared by the test modules."""

from __future__ import annotations

import contextlib
import os
import random
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def free_port(span: int = 1) -> int:
    """A loopback port (with the ``span - 1`` after it) free now, for a server started next.

    Chosen at random below the kernel's ephemeral range: a ``bind(("127.0.0.1", 0))`` port is
    in that range, so an outgoing connection or another test run could take it between this
    check and the server's own bind.
    """
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ranges.read_text().split()[0]) if ranges.exists() else 32768
    for _ in range(200):
        port = random.randrange(10000, max(low - span, 10001))
        sockets = [socket.socket() for _ in range(span)]
        try:
            for offset, sock in enumerate(sockets):
                sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return port
    raise RuntimeError("no free loopback port")


def valid_submission(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "moi-truong",
        "agency": None,
        "title": "Rác thải tồn đọng ở chợ",
        "content": "Rác thải tồn đọng nhiều ngày ở cổng chợ, bốc mùi hôi thối ảnh hưởng người dân.",
        "location": {"commune_code": None, "address": "Cổng chợ Vườn Hoa", "lat": 19.80, "lon": 105.77},
        "submitter": {"name": "Lê Văn A", "phone": "0912345678", "email": None},
        "confidential": True,
        "consent": {"version": None, "accepted": True},
        "source_url": "https://baothanhhoa.example/bai-viet",
    }
    body.update(overrides)
    return body


def assert_problem(resp: Any, status: int, type_suffix: str | None = None) -> dict[str, Any]:
    """Every API error has one shape: RFC 9457 problem+json."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json(force=True)
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["type"], str)
    if type_suffix is not None:
        assert body["type"].endswith("/" + type_suffix), body["type"]
    if "errors" in body:
        assert all(isinstance(k, str) and isinstance(v, list) and v for k, v in body["errors"].items())
    return body


# Debian's Chromium, as the browser tests launch it (tests/conftest.py, fixture ``browser``).
CHROMIUM = os.environ.get("PHANHOI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def post_large(client: Any, path: str, **kwargs: Any) -> Any:
    """``client.post`` for bodies werkzeug spools to a temporary file: the file is closed after."""
    from flask.testing import EnvironBuilder

    builder = EnvironBuilder(client.application, path, method="POST", **kwargs)
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


@contextlib.contextmanager
def statements_seen(engine: Any, keep: Callable[[Any, str, Any], Any] | None = None) -> Iterator[list[Any]]:
    """What ``keep(cursor, SQL, parameters)`` makes of each statement the engine runs inside the
    block (by default the three of them), as SQLAlchemy's ``before_cursor_execute`` sees it."""
    import sqlalchemy as sa

    seen: list[Any] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append(keep(cursor, statement, parameters) if keep else (cursor, statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@contextlib.contextmanager
def store_locked(database_url: str, release_after: float) -> Iterator[None]:
    """The store's write lock held by another session (an operator's transaction, a migration)
    until ``release_after`` seconds have passed, or the block ends."""
    import sqlite3
    import threading

    import sqlalchemy as sa

    from widget_server.store.engine import normalise_url

    engine = None
    if database_url.startswith("sqlite"):
        holder: Any = sqlite3.connect(sa.make_url(database_url).database, isolation_level=None,
                                      check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
    else:
        engine = sa.create_engine(normalise_url(database_url), poolclass=sa.pool.NullPool)
        holder = engine.connect()
        holder.execute(sa.text("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE"))
    release = holder.rollback
    timer = threading.Timer(release_after, release)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with contextlib.suppress(Exception):
            release()
        holder.close()
        if engine is not None:
            engine.dispose()
