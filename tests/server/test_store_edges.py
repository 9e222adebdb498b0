"""The store's edges: private SQLite files, migrations that two processes start at once."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from widget_server.store import db


def test_sqlite_database_and_its_wal_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "relay.sqlite3"
        engine = db.make_engine(f"sqlite:///{path}")
        db.upgrade(engine)
        with db.write(engine) as conn:
            conn.execute(sa.text("SELECT 1"))
            # Hold a connection open so the -wal and -shm files exist while we look.
            names = [path, Path(str(path) + "-wal"), Path(str(path) + "-shm")]
            for name in names:
                assert name.exists(), name
                assert stat.S_IMODE(name.stat().st_mode) == 0o600, (name, oct(name.stat().st_mode))
        engine.dispose()
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    db.make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


_MIGRATE = """
import os, sys, time
from widget_server.store import db
engine = db.make_engine(sys.argv[1])
with engine.connect() as conn:
    conn.exec_driver_sql("SELECT 1")
start = sys.argv[2]
while not os.path.exists(start):
    time.sleep(0.005)
db.upgrade(engine)
"""


@pytest.mark.postgres
def test_migrations_started_together_on_postgres_both_succeed(tmp_path: Path) -> None:
    base = os.environ.get("PHANHOI_TEST_DATABASE_URL")
    if not base:
        pytest.skip("needs PHANHOI_TEST_DATABASE_URL")
    admin_url = sa.make_url(db.normalise_url(base))
    name = f"phanhoi_race_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    start = tmp_path / "go"
    try:
        procs = [subprocess.Popen([sys.executable, "-c", _MIGRATE, url, str(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        deadline = time.monotonic() + 60
        ready_check = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        while time.monotonic() < deadline:
            with ready_check.connect() as conn:
                n = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :n"),
                                 {"n": name}).scalar_one()
            if n >= len(procs):  # every process is connected and waits for the start file
                break
            time.sleep(0.05)
        ready_check.dispose()
        start.touch()
        outcomes = [(p.communicate(timeout=120)[1], p.returncode) for p in procs]
        for err, code in outcomes:
            assert code == 0, err[-2000:]
        engine = db.make_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                         {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _fill_the_disk(app: object) -> None:
    """Make the SQLite database "full" for real: no page may be added beyond today's count."""
    engine = db.get_engine(app)
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()

    @sa.event.listens_for(engine, "connect")
    def _full(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

    engine.dispose()  # every connection from now on opens on the full file


def test_a_full_disk_answers_503_with_retry_after_and_readyz_says_not_ready(app, client, site,
                                                                           submission_body):
    if db.get_engine(app).dialect.name != "sqlite":
        pytest.skip("SQLite's max_page_count makes the disk full")
    assert client.get("/readyz").status_code == 200
    _fill_the_disk(app)
    answers = []
    for i in range(40):  # the first submissions may still fit in the pages the file has
        r = client.post("/api/v1/submissions", json={**submission_body, "content": "Nội dung dài. " * 300},
                        headers={"Authorization": f"Bearer {site[1]}", "Idempotency-Key": f"full-{i}"})
        answers.append(r.status_code)
        if r.status_code != 201:
            break
    assert answers[-1] == 503, answers
    body = r.get_json()
    assert body["type"].endswith("/store-unavailable") and "thử lại" in body["detail"]
    assert int(r.headers["Retry-After"]) > 0
    assert 500 not in answers
    # Reads still work, but the relay no longer calls itself ready.
    r = client.get("/readyz")
    assert r.status_code == 503 and r.mimetype == "application/problem+json"
    assert int(r.headers["Retry-After"]) > 0
    assert client.get("/healthz").status_code == 200


def _fill(engine: sa.Engine, transactions: int, pages: int = 20) -> None:
    """``transactions`` write transactions of about ``pages`` pages each (4 KB rows)."""
    for _ in range(transactions):
        with db.write(engine) as conn:
            conn.exec_driver_sql(f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {pages}) "
                                 "INSERT INTO filler (b) SELECT randomblob(4000) FROM n")


def test_the_sqlite_wal_is_checkpointed_and_kept_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoints run every ``WAL_CHECKPOINT_PAGES`` (fewer, larger ones than SQLite's default)
    and a WAL grown past ``WAL_SIZE_LIMIT_BYTES`` while a reader held it is cut back: the file
    beside the database stays bounded, and every committed row is in the database."""
    from widget_server.store import sqlite

    monkeypatch.setattr(sqlite, "WAL_CHECKPOINT_PAGES", 100)
    monkeypatch.setattr(sqlite, "WAL_SIZE_LIMIT_BYTES", 300 * 4096)
    path = tmp_path / "wal.sqlite3"
    wal = Path(str(path) + "-wal")
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == 100
        with db.write(engine) as conn:
            conn.exec_driver_sql("CREATE TABLE filler (id INTEGER PRIMARY KEY, b BLOB)")
        _fill(engine, 50)  # 1,000 pages: ten times the checkpoint's size
        assert wal.stat().st_size < 200 * 4096, "checkpointed as it went: the WAL used again from its start"
        # A reader's snapshot keeps the WAL from being used again: it grows past the limit …
        reader = engine.connect()
        try:
            reader.begin()
            reader.exec_driver_sql("SELECT count(*) FROM filler").scalar_one()
            _fill(engine, 40)
            assert wal.stat().st_size > 300 * 4096
        finally:
            reader.close()
        _fill(engine, 2)  # … and once the reader is gone, the next checkpoint cuts it back
        assert wal.stat().st_size <= 300 * 4096
    finally:
        engine.dispose()
    check = sa.create_engine(f"sqlite:///{path}")
    with check.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM filler").scalar_one() == 92 * 20
    check.dispose()


@pytest.mark.parametrize("page_size", [1024, 16384, 65536])
def test_the_wal_takes_as_many_bytes_whatever_the_page_size(page_size: int, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A database made elsewhere with other pages than SQLite's usual 4 KB is checkpointed after
    as many bytes of WAL, not as many pages (10,000 pages of 16 KB made a WAL of 160 MB, four
    times what the relay plans for), and readiness counts the room that WAL takes."""
    import sqlite3

    from widget_server.store import health, sqlite as store_sqlite

    monkeypatch.setattr(store_sqlite, "WAL_CHECKPOINT_PAGES", 100)  # 400 KB of 4 KB pages
    planned = 100 * 4096
    path = tmp_path / f"pages-{page_size}.sqlite3"
    made = sqlite3.connect(path)  # as another tool would make it
    made.execute(f"PRAGMA page_size={page_size}")
    made.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, b BLOB)")
    made.close()
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar_one() == page_size
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == planned // page_size
        growth = health.wal_growth(str(path), page_size)
        assert planned * 0.8 < growth <= planned * 1.1, growth
        _fill(engine, 30)  # about 2.4 MB of rows, six times the WAL's planned size
        wal = Path(str(path) + "-wal").stat().st_size
        # Checkpointed at its planned size (one transaction more at most), used again from its start.
        assert wal <= planned + 30 * 4096, wal
    finally:
        engine.dispose()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM filler").fetchone()[0] == 30 * 20


def _free_space(monkeypatch: pytest.MonkeyPatch, folder: Path, free: list[int]) -> None:
    """The disk's free space is the operating system's answer: ``free[0]`` bytes for ``folder``
    (however its path is spelt), the real answer elsewhere."""
    import shutil

    from widget_server.store import health

    real = shutil.disk_usage
    mine = os.path.realpath(folder)
    monkeypatch.setattr(health.shutil, "disk_usage", lambda asked: real(asked)._replace(free=free[0])
                        if os.path.realpath(asked) == mine else real(asked))


def test_readiness_counts_the_room_the_wal_will_take(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The WAL grows to ``WAL_CHECKPOINT_PAGES`` pages before its first checkpoint and keeps that
    size: a disk with room for the relay's margin but not for the WAL's growth is not ready (its
    next writes would fail), and once the WAL has its size the margin alone is asked for."""
    from widget_server.store import health, sqlite

    monkeypatch.setattr(sqlite, "WAL_CHECKPOINT_PAGES", 100)
    path = tmp_path / "ready.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    free = [0]
    _free_space(monkeypatch, tmp_path, free)
    try:
        with db.write(engine) as conn:
            conn.exec_driver_sql("CREATE TABLE filler (id INTEGER PRIMARY KEY, b BLOB)")
        growth = health.wal_growth(str(path), 4096)
        assert 90 * 4096 < growth <= 100 * (4096 + 24) + 32
        free[0] = health.MIN_FREE_BYTES + growth // 2
        assert health.write_problem(engine) == "disk full"
        free[0] = health.MIN_FREE_BYTES + growth
        assert health.write_problem(engine) is None
        _fill(engine, 8)  # past a checkpoint: the WAL has its size, reused from its start
        assert health.wal_growth(str(path), 4096) == 0
        free[0] = health.MIN_FREE_BYTES
        assert health.write_problem(engine) is None
    finally:
        engine.dispose()


@pytest.mark.parametrize("form", [
    "relative file: URI", "absolute file: URI",
    # SQLAlchemy warns that it picks the pool of such a URL by its query string: not ours to answer.
    pytest.param("memory URI", marks=pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning"))])
def test_readiness_finds_the_file_of_a_uri(form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``file:`` URI names the database otherwise than a path: readiness asks SQLite where the
    file is (its WAL beside it counted once full), and a database in memory has no disk to check.
    Before, a relative URI was never ready without 40 MB more than it needed, and an absolute one
    made the check fail on a folder named ``file:…``."""
    from widget_server.store import health, sqlite

    monkeypatch.setattr(sqlite, "WAL_CHECKPOINT_PAGES", 100)
    monkeypatch.chdir(tmp_path)
    url = {"relative file: URI": "sqlite:///file:rel.db?uri=true",
           "absolute file: URI": f"sqlite:///file:{tmp_path}/abs.db?uri=true",
           "memory URI": "sqlite:///file:mem1?mode=memory&cache=shared&uri=true"}[form]
    _free_space(monkeypatch, tmp_path, [health.MIN_FREE_BYTES + 4096])
    engine = db.make_engine(url)
    keep = engine.connect()  # a shared in-memory database lives while a connection does
    try:
        with db.write(engine) as conn:
            conn.exec_driver_sql("CREATE TABLE filler (id INTEGER PRIMARY KEY, b BLOB)")
        _fill(engine, 8)  # past a checkpoint: a file's WAL has its full size
        assert health.write_problem(engine) is None
    finally:
        keep.close()
        engine.dispose()


def test_a_locked_store_is_a_503_after_the_configured_wait(app_config: dict[str, Any],
                                                           database_url: str) -> None:
    """A submission waiting on a lock held elsewhere gets 503 with Retry-After once
    PHANHOI_STORE_WAIT_SECONDS have passed (nothing stored; the client tries again), not an
    answer held until the lock goes (or the worker's timeout kills it first)."""
    from tests.helpers import store_locked, valid_submission
    from widget_server import create_app
    from widget_server.intake import reference, sites

    app = create_app({**app_config, "STORE_WAIT_SECONDS": 1})
    try:
        with app.app_context():
            site, token = sites.create_site("Báo Thanh Hóa", ["https://baothanhhoa.example"])
            body = valid_submission()
            body["consent"]["version"] = reference.consent_for(site.name).version
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "locked-1"}
        with store_locked(database_url, release_after=8):
            started = time.monotonic()
            refused = client.post("/api/v1/submissions", json=body, headers=headers)
            waited = time.monotonic() - started
        assert refused.status_code == 503, refused.get_data(as_text=True)
        assert refused.mimetype == "application/problem+json"
        assert refused.headers["Retry-After"] == "30"
        assert 0.9 <= waited < 5, waited
        stored = client.post("/api/v1/submissions", json=body, headers=headers)  # the lock is gone
        assert stored.status_code == 201, stored.get_data(as_text=True)
        assert stored.headers.get("Idempotent-Replayed") is None  # the 503 stored nothing
    finally:
        db.get_engine(app).dispose()


def test_the_wait_for_a_lock_keeps_one_the_operator_set(app_config: dict[str, Any], database_url: str) -> None:
    """PostgreSQL: the relay's sessions wait PHANHOI_STORE_WAIT_SECONDS for a lock, unless the
    role, the database or PGOPTIONS already set ``lock_timeout``."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's lock_timeout")
    engine = db.make_engine(database_url, wait_seconds=2.5)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW lock_timeout")).scalar_one() == "2500ms"
    finally:
        engine.dispose()
    url = sa.make_url(db.normalise_url(database_url)).update_query_dict({"options": "-c lock_timeout=7s"})
    engine = db.make_engine(url.render_as_string(hide_password=False), wait_seconds=2.5)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SHOW lock_timeout")).scalar_one() == "7s"
    finally:
        engine.dispose()
