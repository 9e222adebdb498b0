"""Storage: the migrations build exactly the tables the code uses, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from widget_server.store import db


def test_migrations_match_the_tables_in_code(app):
    engine = db.get_engine(app)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_no_index_is_a_leading_part_of_another(app):
    """Each index is one more B-tree every insert writes (a WAL page per index on SQLite): one
    whose columns begin another index of the same table serves nothing the other does not."""
    inspector = sa.inspect(db.get_engine(app))
    redundant = []
    for table in db.metadata.sorted_tables:
        indexes = [ix for ix in inspector.get_indexes(table.name)  # partial ones apart
                   if ix.get("dialect_options", {}).get(f"{inspector.dialect.name}_where") is None]
        for ix in indexes:
            columns = list(ix["column_names"])
            for other in indexes:
                longer = list(other["column_names"])
                if other is not ix and len(longer) > len(columns) and longer[:len(columns)] == columns:
                    redundant.append(f"{ix['name']} ⊂ {other['name']}")
    assert redundant == []


def test_sqlite_runs_in_wal_with_full_sync(app):
    engine = db.get_engine(app)
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_utc_datetimes_round_trip_aware(app, site):
    with db.read() as conn:
        created = conn.execute(sa.select(db.sites.c.created_at)).scalar_one()
    assert created.tzinfo is not None and created.utcoffset().total_seconds() == 0


def test_utc_datetimes_are_bound_as_the_type_decorator_binds_them(app):
    """``UTCDateTime`` binds with one function per value: the same values SQLAlchemy's wrapper
    around ``process_bind_param`` gives (SQLite's strings, PostgreSQL's naive UTC), and a naive
    datetime still refused; stored and read back, an aware time in another zone is the same instant."""
    import datetime as dt

    engine = db.get_engine(app)
    column = db.UTCDateTime().dialect_impl(engine.dialect)
    fast = column.bind_processor(engine.dialect)
    wrapped = sa.types.TypeDecorator.bind_processor(column, engine.dialect)
    hanoi = dt.timezone(dt.timedelta(hours=7))
    for value in (None, dt.datetime(2026, 12, 7, 12, 0, tzinfo=hanoi),
                  dt.datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC), dt.datetime.max.replace(tzinfo=dt.UTC)):
        assert fast(value) == wrapped(value)
    with pytest.raises(ValueError, match="naive"):
        fast(dt.datetime(2026, 12, 7, 12, 0))
    table = sa.Table("utc_probe", sa.MetaData(), sa.Column("at", db.UTCDateTime))
    with engine.begin() as conn:
        table.create(conn)
        try:
            conn.execute(table.insert().values(at=dt.datetime(2026, 12, 7, 19, 30, tzinfo=hanoi)))
            read = conn.execute(sa.select(table.c.at)).scalar_one()
            later = conn.execute(sa.select(sa.func.count()).select_from(table).where(
                table.c.at > dt.datetime(2026, 12, 7, 12, 29, tzinfo=dt.UTC))).scalar_one()
        finally:
            table.drop(conn)
    assert read == dt.datetime(2026, 12, 7, 12, 30, tzinfo=dt.UTC) and later == 1


def test_concurrent_writers_do_not_deadlock(app, site):
    """Write transactions start IMMEDIATE on SQLite: two writers queue instead of failing."""
    errors: list[BaseException] = []
    engine = db.get_engine(app)

    def write(n: int) -> None:
        try:
            for i in range(20):
                with db.write(engine) as conn:
                    conn.execute(sa.select(sa.func.count()).select_from(db.inbound_events)).scalar()
                    conn.execute(sa.insert(db.inbound_events).values(
                        id=f"msg_{n}_{i}", event_type="t", received_at=db.utcnow()))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.inbound_events)).scalar() == 80


def test_the_database_refuses_a_status_outside_the_vocabulary(app, client, site, submission_body) -> None:
    """Statuses have one home (phanhoi.statuses); the CHECK constraints hold the database to it."""
    import sqlalchemy as sa
    from sqlalchemy.exc import IntegrityError

    from widget_server.intake import submissions
    from widget_server.store import db

    created = submissions.create_submission(site[0], submission_body, via="api")
    with pytest.raises(IntegrityError):
        with db.write() as conn:
            conn.execute(sa.update(db.submissions).where(db.submissions.c.id == created["id"])
                         .values(status="lost"))
    with pytest.raises(IntegrityError):
        with db.write() as conn:
            conn.execute(sa.insert(db.history).values(submission_id=created["id"], status="lost",
                                                      at=db.utcnow()))
    with db.write() as conn:
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == created["id"])
                     .values(status="in_progress"))


def test_the_console_migrations_go_down_and_up_with_accounts_in_place(app, database_url):
    """0013 (console_sessions) and 0014 (console_users.totp_last_step) undo and redo with an
    account and its open session in the tables (SQLite drops the column in place: a copy of
    console_users would break console_sessions' foreign key)."""
    from alembic import command

    from widget_server.accounts import sessions, users
    from widget_server.store import migrate, operations

    user = users.add("quantri@tinh.example", admin=True)[0]
    sessions.start(user.id)
    engine = db.make_engine(database_url)
    try:
        command.downgrade(migrate.alembic_config(engine), "0012")
        inspector = sa.inspect(engine)
        assert "console_sessions" not in inspector.get_table_names()
        assert "totp_last_step" not in {c["name"] for c in inspector.get_columns("console_users")}
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.select(operations.console_users.c.email)).scalars().all() == [user.email]
            assert conn.execute(sa.select(sa.func.count()).select_from(operations.console_sessions)).scalar() == 0
    finally:
        migrate.upgrade(engine)
        engine.dispose()


def test_the_index_migration_goes_down_and_up_with_submissions_in_place(app, site, submission_body, database_url):
    """0015 (one index of a submission's outbox rows; none of idempotency answers by age) undoes
    and redoes over stored submissions, and the claim still finds their rows after it."""
    from alembic import command

    from widget_server.delivery import queue
    from widget_server.intake import submissions
    from widget_server.store import migrate

    with app.test_request_context():
        submissions.create_idempotent(site[0], dict(submission_body), via="api", idempotency_key="k-0015")
    engine = db.make_engine(database_url)

    def indexes() -> set[str]:
        inspector = sa.inspect(engine)
        return {ix["name"] for table in ("outbox", "idempotency_keys") for ix in inspector.get_indexes(table)}

    before = {"ix_outbox_submission_id", "ix_outbox_pending_submission", "ix_idempotency_keys_created_at"}
    try:
        command.downgrade(migrate.alembic_config(engine), "0014")
        assert before <= indexes() and "ix_outbox_submission" not in indexes()
        migrate.upgrade(engine)
        assert "ix_outbox_submission" in indexes() and not before & indexes()
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(db.idempotency_keys)).scalar() == 1
        assert [c.event_type for c in queue.claim(engine, "w", queue.Policy())] == ["submission.created"]
    finally:
        migrate.upgrade(engine)
        engine.dispose()
