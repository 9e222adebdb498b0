"""Hot statements on the driver's cursor (store/direct.py) behave as ``Connection.execute`` does:
the same values stored and read back, SQLAlchemy's exceptions, the engine's statement events,
and on PostgreSQL a read that leaves the pooled connection transactional for the next writer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from tests.helpers import statements_seen
from widget_server.store import db, direct

_k = db.idempotency_keys.c
_COLUMNS = ("site_id", "key", "request_hash", "status_code", "response", "created_at")
INSERT_KEY = direct.Statement(sa.insert(db.idempotency_keys).values(
    {c: sa.bindparam(c, type_=_k[c].type) for c in _COLUMNS}).returning(_k.created_at, _k.response))
READ_KEY = direct.Statement(sa.select(_k.key, _k.status_code, _k.response, _k.created_at,
                                      (_k.status_code > 200).label("above"),
                                      sa.literal("ok").label("word"))
                            .where(_k.key == sa.bindparam("key")))


def _record(site_id: int, key: str) -> dict[str, Any]:
    return {"site_id": site_id, "key": key, "request_hash": "h" * 64, "status_code": 201,
            "response": {"tên": "Lê Văn A", "n": [1, 2.5, None], "ok": True},
            "created_at": dt.datetime(2026, 12, 6, 7, 30, 15, 123456,
                                      tzinfo=dt.timezone(dt.timedelta(hours=7)))}


def test_values_go_in_and_come_out_as_sqlalchemy_stores_and_reads_them(app: Any, site: Any) -> None:
    record = _record(site[0].id, "k1")
    with db.write() as conn:
        returned = INSERT_KEY.rows(conn, record)
    utc = record["created_at"].astimezone(dt.UTC)
    assert [tuple(r) for r in returned] == [(utc, record["response"])]
    with db.read() as conn:  # SQLAlchemy's own reading of what the driver stored
        stored = conn.execute(sa.select(db.idempotency_keys).where(_k.key == "k1")).one()
    assert (stored.response, stored.created_at, stored.status_code) == (record["response"], utc, 201)
    with db.write() as conn:  # and SQLAlchemy's own writing, read by the direct statement
        conn.execute(sa.insert(db.idempotency_keys), _record(site[0].id, "k2"))
    for key in ("k1", "k2"):
        (row,) = db.query(READ_KEY, {"key": key})
        assert row.key == key and row.status_code == 201 and row.response == record["response"]
        assert row.created_at == utc and row.created_at.tzinfo is dt.UTC
        assert row.above is True and row.word == "ok"
    assert db.query(READ_KEY, {"key": "none"}) == []


def test_a_driver_error_is_sqlalchemys_and_the_transaction_stores_nothing(app: Any, site: Any) -> None:
    with db.write() as conn:
        INSERT_KEY.run(conn, _record(site[0].id, "same"))
    with pytest.raises(sa.exc.IntegrityError) as raised:
        with db.write() as conn:
            INSERT_KEY.run(conn, _record(site[0].id, "other"))
            INSERT_KEY.run(conn, _record(site[0].id, "same"))  # the primary key again
    assert "Lê Văn A" not in str(raised.value)  # parameters stay out of messages
    assert [r.key for r in db.query(READ_KEY, {"key": "other"})] == []
    record = _record(site[0].id, "short")
    del record["request_hash"]
    with pytest.raises(sa.exc.ArgumentError, match="request_hash"):  # not a NULL bound in its place
        with db.write() as conn:
            INSERT_KEY.run(conn, record)


def test_the_engine_sees_each_statement_as_it_sees_every_other(app: Any, site: Any) -> None:
    with statements_seen(db.get_engine(app)) as seen:
        with db.write() as conn:
            INSERT_KEY.run(conn, _record(site[0].id, "seen"))
        db.query(READ_KEY, {"key": "seen"})
    work = [" ".join(s.split()) for _, s, _ in seen if not s.startswith(("BEGIN", "COMMIT"))]
    assert [s.split()[0] for s in work] == ["INSERT", "SELECT"], work
    assert "idempotency_keys" in work[0] and "idempotency_keys" in work[1]


def test_a_read_leaves_its_connection_ready_for_a_transaction(app: Any, site: Any) -> None:
    """PostgreSQL: the read runs in autocommit; the pooled connection it returns must not, or
    a later write transaction would commit statement by statement."""
    engine = db.get_engine(app)
    for _ in range(3):  # the pool hands back the same connection
        db.query(READ_KEY, {"key": "x"})
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        assert getattr(driver, "autocommit", False) is False
        assert not conn.in_transaction()
    with pytest.raises(RuntimeError):
        with db.write() as conn:
            INSERT_KEY.run(conn, _record(site[0].id, "rolled-back"))
            raise RuntimeError("after the statement, before the commit")
    assert db.query(READ_KEY, {"key": "rolled-back"}) == []


def test_the_driver_gets_the_parameters_the_sql_names_and_no_others(app: Any, site: Any) -> None:
    with db.write() as conn:
        INSERT_KEY.run(conn, _record(site[0].id, "seen"))
    with statements_seen(db.get_engine(app)) as seen:
        rows = db.query(READ_KEY, {"key": "seen", "unused": "x", "status_code": 500})
    assert [r.status_code for r in rows] == [201]
    ((_, _, parameters),) = seen
    # the key, and the two literals (200, 'ok'): nothing the caller added, no literal twice
    assert len(parameters) == 3, parameters
    values = list(parameters.values()) if isinstance(parameters, dict) else list(parameters)
    assert sorted(map(str, values)) == ["200", "ok", "seen"]


def test_statements_share_one_driver_cursor_and_an_error_gets_them_a_new_one(app: Any, site: Any) -> None:
    """A psycopg cursor's construction cost a lookup 2 % of its CPU: one per driver connection,
    made again after a statement fails (the failed one is not used again)."""
    with statements_seen(db.get_engine(app)) as seen:
        with db.write() as conn:
            INSERT_KEY.run(conn, _record(site[0].id, "one"))
            INSERT_KEY.rows(conn, _record(site[0].id, "two"))
        for key in ("one", "two"):
            assert [r.key for r in db.query(READ_KEY, {"key": key})] == [key]
        with pytest.raises(sa.exc.IntegrityError):
            with db.write() as conn:
                INSERT_KEY.run(conn, _record(site[0].id, "one"))  # the primary key again
        (row,) = db.query(READ_KEY, {"key": "two"})
        assert row.response["tên"] == "Lê Văn A"
    cursors = [cursor for cursor, statement, _ in seen if "idempotency_keys" in statement]
    assert len({id(c) for c in cursors[:4]}) == 1
    assert cursors[-1] is not cursors[0]  # the failed statement's cursor was not used again
