"""Shared fixtures: an app on a fresh database per test, SQLite by default.

Migrations run once per session: on SQLite each test gets a copy of a migrated
template file; on PostgreSQL (set ``PHANHOI_TEST_DATABASE_URL`` to a server URL,
any database on it) a database of its own is created for the run, migrated,
dropped after it, and every test starts from emptied tables.

Tests that use the database (the ``database_url`` fixture, directly or through
``app_config``, ``app``, ``client`` ...) are marked ``db`` at collection, so the
PostgreSQL pass runs only them: ``pytest -m db``. Browser tests are not marked:
what they exercise is the widget, and the API tests already cover both databases.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import valid_submission
from widget_server import create_app
from widget_server.store import db
from widget_server.intake import sites

PG_ENV = "PHANHOI_TEST_DATABASE_URL"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()) and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.db)


def _pg_admin_url(url: str) -> sa.URL:
    return sa.make_url(db.normalise_url(url))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this run (None when running on SQLite)."""
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    admin_url = _pg_admin_url(base)
    name = f"phanhoi_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        if url in _cleaners:
            _cleaners.pop(url).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
            ), {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


_cleaners: dict[str, sa.Engine] = {}


def _empty(url: str) -> None:
    """Empty every table and restart the id sequences. DELETE, not TRUNCATE: on tables of a
    few rows it takes milliseconds, where TRUNCATE's new files take about 0.15 s a test."""
    engine = _cleaners.get(url)
    if engine is None:
        engine = _cleaners[url] = db.make_engine(url)
    with engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
        for (name,) in conn.execute(sa.text(
                "SELECT quote_ident(sequence_schema) || '.' || quote_ident(sequence_name)"
                " FROM information_schema.sequences")):
            conn.execute(sa.text(f"ALTER SEQUENCE {name} RESTART"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One SQLite file migrated to head, as a single file (no WAL beside it) to copy."""
    path = tmp_path_factory.mktemp("template") / "relay.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    return path


@pytest.fixture
def database_url(request: pytest.FixtureRequest, postgres_database: str | None, tmp_path: Any) -> Iterator[str]:
    if postgres_database:
        _empty(postgres_database)
        yield postgres_database
        return
    path = tmp_path / "relay.sqlite3"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
    yield f"sqlite:///{path}"


@pytest.fixture
def whsec() -> Any:
    from phanhoi.webhooks import generate_secret

    return generate_secret


@pytest.fixture
def app_config(database_url: str, tmp_path: Any, whsec: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(32),
        "PUBLIC_URL": "http://relay.test",
        "CENTRAL_URL": "http://central.test",
        "CENTRAL_SECRET": whsec(),
        "CENTRAL_EVENTS_SECRET": whsec(),
        "MIN_FILL_SECONDS": 0,
        "ATTACHMENT_DIR": str(tmp_path / "attachments"),
        "RATELIMIT_ENABLED": False,
        # Beacons written at once: no flush thread outlives its test into the next one's tables.
        "REACH_FLUSH_SECONDS": 0,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Any]:
    application = create_app(app_config)
    with application.app_context():
        yield application
    db.get_engine(application).dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def site(app: Any) -> tuple[sites.Site, str]:
    """A registered news site and its secret key."""
    return sites.create_site("Báo Thanh Hóa", ["https://baothanhhoa.example"])


@pytest.fixture
def submission_body(app: Any, site: tuple[sites.Site, str]) -> dict[str, Any]:
    """A valid submission for ``site`` with the current consent version."""
    from widget_server.intake import reference

    body = valid_submission()
    body["consent"]["version"] = reference.consent_for(site[0].name).version
    return body


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole run, shared by every folder's browser tests (two sync
    Playwright instances cannot be open at once)."""
    from pathlib import Path

    from playwright.sync_api import expect, sync_playwright

    from tests.helpers import CHROMIUM, CHROMIUM_ARGS

    # Assertions retry until true; on a machine shared with other work an answer may take a
    # while, so they wait up to 15 s (5 by default) before calling a check failed.
    expect.set_options(timeout=15_000)

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
