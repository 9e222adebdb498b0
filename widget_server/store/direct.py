"""Hot statements run on the driver's cursor: SQLAlchemy builds and compiles them, once per dialect.

A status lookup and a new submission are a handful of statements each, run thousands of times
a minute. SQLAlchemy's execution of a compiled statement (the execution context, the cached
compilation's lookup, the result object and its rows) cost more CPU than the driver's own
work: on PostgreSQL a lookup's one SELECT took 0.27 ms through ``Connection.execute`` and
0.11 ms on the driver's cursor; on SQLite the four statements of a submission lost about
0.2 ms. ``Statement`` keeps what SQLAlchemy does well (building the SQL, the types' bind and
result conversions, the connection's pool, transaction and events) and skips the rest:

- the SQL string, the order of its parameters and the types' converters are worked out once
  per dialect, from SQLAlchemy's compilation;
- the statement runs on the driver connection of the caller's ``Connection``, inside its
  transaction, on one cursor kept per driver connection (``_cursor``);
- the engine's ``before_cursor_execute`` listeners see it as they see every other statement
  (``watch.py`` and the tests that count statements rely on that);
- a driver error becomes SQLAlchemy's exception (``IntegrityError``, ``OperationalError`` …)
  as ``Connection.execute`` raises it, and a connection the driver lost is invalidated, so
  the pool never hands it out again;
- rows come back as named tuples with the result types' conversions applied.

Only statements built once (module constants) belong here: each keeps its compilations. Not
dispatched for them: ``after_cursor_execute`` and ``handle_error`` (nothing in the relay listens).
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect


class _Compiled(NamedTuple):
    sql: str
    positional: tuple[str, ...] | None  # the parameters' order for qmark/format drivers
    escaped: Mapping[str, str]  # parameter names the SQL spells otherwise
    binds: Mapping[str, Callable[[Any], Any]]
    required: frozenset[str]  # parameters the caller must give
    names: frozenset[str]  # every parameter the SQL spells
    defaults: Mapping[str, Any]  # values bound in the statement itself (literals)
    row: Any  # the named tuple of a result row, None when the statement returns no rows
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column's index, its type's converter)


class Statement:
    """A statement compiled once per dialect and run on the driver's cursor (see the module).

    ``statement`` is a SQLAlchemy statement, or a function of the dialect's name that builds
    one (``ON CONFLICT`` comes from the dialect's own ``insert``)."""

    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def built(self, dialect: str) -> Any:
        """The SQLAlchemy statement for ``dialect`` (to compose it into another one)."""
        return self.statement(dialect) if callable(self.statement) else self.statement

    def __repr__(self) -> str:
        return f"Statement({self.statement!r})"

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        """The statement's result rows (``RETURNING`` included), converted by their types."""
        compiled = self._for(conn.dialect)
        return _rows(conn, compiled, _bound(compiled, params or {}))

    def run(self, conn: Connection, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement whose rows, if any, nobody reads."""
        compiled = self._for(conn.dialect)
        _run(conn, compiled, _bound(compiled, params or {}))

    def prepare(self, dialect: Dialect, params: Mapping[str, Any] | None = None) -> Prepared:
        """The statement with its parameters converted for the driver, ready to run: made
        before a transaction, so that the transaction (on SQLite holding the one write lock
        every process waits for) does only the statements."""
        compiled = self._for(dialect)
        return Prepared(dialect.name, compiled, _bound(compiled, params or {}))

    # ------------------------------------------------------------------ internals

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _compile(self.built(dialect.name), dialect)
        return found


class Prepared(NamedTuple):
    """A statement with its parameters converted for one database's driver (``Statement.prepare``)."""

    dialect: str
    compiled: _Compiled
    bound: Any

    def rows(self, conn: Connection) -> list[Any]:
        """As ``Statement.rows``, on a connection to the database it was prepared for."""
        assert conn.dialect.name == self.dialect, "prepared for another database"
        return _rows(conn, self.compiled, self.bound)

    def run(self, conn: Connection) -> None:
        """As ``Statement.run``, on a connection to the database it was prepared for."""
        assert conn.dialect.name == self.dialect, "prepared for another database"
        _run(conn, self.compiled, self.bound)


def _bound(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
    """``params`` as the driver takes them: the statement's own values filled in, each value
    converted by its type."""
    values = dict(compiled.defaults)
    values.update(params)
    if not compiled.required <= values.keys():
        missing = ", ".join(sorted(compiled.required - values.keys()))
        raise sa.exc.ArgumentError(f"a value is required for the parameters {missing}")
    for name, convert in compiled.binds.items():  # None too: JSON's is 'null', as SQLAlchemy binds it
        values[name] = convert(values.get(name))
    if compiled.positional is not None:
        return tuple(values.get(name) for name in compiled.positional)
    if len(values) > len(compiled.names):  # the caller's extras stay out of the driver's count
        return {compiled.escaped.get(k, k): values[k] for k in compiled.names}
    if compiled.escaped:
        return {compiled.escaped.get(k, k): v for k, v in values.items()}
    return values


def _rows(conn: Connection, compiled: _Compiled, bound: Any) -> list[Any]:
    cursor = _execute(conn, compiled, bound)
    if compiled.row is None:
        return []
    # Not ``cursor.description``: psycopg builds an object per column for it.
    fetched = cursor.fetchall()
    make = compiled.row._make
    if not compiled.results:
        return [make(r) for r in fetched]
    out = []
    for fetched_row in fetched:
        values = list(fetched_row)
        for i, convert in compiled.results:
            if values[i] is not None:
                values[i] = convert(values[i])
        out.append(make(values))
    return out


def _run(conn: Connection, compiled: _Compiled, bound: Any) -> None:
    cursor = _execute(conn, compiled, bound)
    if compiled.row is not None:
        cursor.fetchall()  # drained: the shared cursor holds no statement half-stepped


def _execute(conn: Connection, compiled: _Compiled, bound: Any) -> Any:
    cursor = _cursor(conn)
    try:
        for listener in conn.dispatch.before_cursor_execute:
            listener(conn, cursor, compiled.sql, bound, None, False)
        cursor.execute(compiled.sql, bound)
    except conn.dialect.loaded_dbapi.Error as exc:
        _drop_cursor(conn, cursor)
        raise _wrapped(conn, exc, compiled.sql, bound, cursor) from exc
    except BaseException:
        _drop_cursor(conn, cursor)
        raise
    return cursor


_CURSOR = "phanhoi_cursor"


def _cursor(conn: Connection) -> Any:
    """The driver's cursor these statements share on one driver connection, made once: a
    psycopg cursor's construction (its adapters' transformer) cost a status lookup 2 % of its
    CPU. Each statement's rows are fetched before the next statement runs, so one cursor serves
    them all; after an error, or on a connection since replaced, a new one is made
    (``info`` lives as long as the driver connection)."""
    record = conn.connection
    dbapi_conn = record.dbapi_connection
    assert dbapi_conn is not None
    cursor = record.info.get(_CURSOR)
    if cursor is None or cursor.connection is not dbapi_conn:
        cursor = record.info[_CURSOR] = dbapi_conn.cursor()
    return cursor


def _drop_cursor(conn: Connection, cursor: Any) -> None:
    """After an error: the next statement gets a new cursor (this one may hold a failed state)."""
    if conn.connection.info.get(_CURSOR) is cursor:
        del conn.connection.info[_CURSOR]
    with contextlib.suppress(Exception):  # a cursor of a lost connection goes with it
        cursor.close()


def _compile(statement: Any, dialect: Dialect) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect)
    binds: dict[str, Callable[[Any], Any]] = {}
    defaults: dict[str, Any] = {}
    required = set()
    # ``compiled.binds`` also lists each anonymous parameter under its unrendered key: only the
    # names the SQL spells are bound (psycopg caches its parsing of a query bound with at most
    # 50 values; the new submission's statement has 44 and listed 51).
    spelled = set(compiled.bind_names.values())
    for name, param in compiled.binds.items():
        if name not in spelled:
            continue
        convert = param.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            binds[name] = convert
        if param.required:
            required.add(name)
        else:
            defaults[name] = param.effective_value
    columns: Sequence[Any] = list(getattr(statement, "exported_columns", None) or [])
    row: Any = None
    results: tuple[tuple[int, Callable[[Any], Any]], ...] = ()
    if columns:
        keys = [getattr(c, "key", None) or getattr(c, "name", None) or f"c{i}"
                for i, c in enumerate(columns)]
        row = collections.namedtuple("DirectRow", keys, rename=True)  # type: ignore[misc,no-redef]
        converters = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        results = tuple((i, f) for i, f in enumerate(converters) if f is not None)
    positional = tuple(compiled.positiontup) if compiled.positional else None
    return _Compiled(compiled.string, positional, dict(compiled.escaped_bind_names or {}),
                     binds, frozenset(required), frozenset(spelled), defaults, row, results)


def _wrapped(conn: Connection, exc: Any, sql: str, params: Any, cursor: Any) -> Exception:
    """SQLAlchemy's exception for a driver's error; a lost connection is invalidated first."""
    dialect = conn.dialect
    dbapi_conn = conn.connection.dbapi_connection
    lost = dialect.is_disconnect(exc, dbapi_conn, cursor)
    if lost:
        conn.invalidate(exc)
    return sa.exc.DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error,
                                      hide_parameters=True, dialect=dialect,
                                      connection_invalidated=lost)
