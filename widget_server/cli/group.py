"""The root command group: a database with no tables is a one-line error, not a traceback,
and leaves no empty SQLite file behind (``phanhoi-widget sites list`` in the wrong folder)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo

from widget_server.errors import StoreUnavailableError
from widget_server.store import db
from widget_server.store.migrate import missing_tables


def _drop_if_empty(url: str) -> None:
    """A SQLite file that a command just created by opening it, and that holds no table, is
    removed: asking the wrong folder a question must not leave an empty database behind."""
    import sqlite3

    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return
    path = parsed.database
    if not os.path.exists(path):
        return
    conn = sqlite3.connect(path)
    try:
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            return
    finally:
        conn.close()
    # ``.write-lock``: the write gate's file (store/sqlite.py), made by a write that then failed.
    for suffix in ("", "-wal", "-shm", "-journal", ".write-lock"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


def _database_url(ctx: click.Context) -> str:
    """The URL the command used, or "" when it cannot be told."""
    with contextlib.suppress(Exception):
        return str(current_app.config["DATABASE_URL"])
    with contextlib.suppress(Exception):
        return str(ctx.ensure_object(ScriptInfo).load_app().config["DATABASE_URL"])
    return ""


def _unavailable(exc: BaseException, url: str) -> click.ClickException:
    """The database cannot be reached (down, a wrong host or port in the URL, locked too long):
    one line naming it (without its password) and the driver's reason, not a traceback ending in
    the sentence a citizen's form shows."""
    import sqlalchemy as sa

    reason: BaseException = exc
    while reason.__cause__ is not None:
        reason = reason.__cause__
    said = " ".join(str(getattr(reason, "orig", reason)).split())[:300].rstrip(" .?")
    shown = "?"
    with contextlib.suppress(Exception):
        shown = sa.make_url(url).render_as_string(hide_password=True)
    return click.ClickException(
        f"Không dùng được cơ sở dữ liệu ({shown}): {said}. Kiểm tra PHANHOI_DATABASE_URL và máy chủ "
        "cơ sở dữ liệu. / The database cannot be used: check PHANHOI_DATABASE_URL and the database server.")


class RelayGroup(FlaskGroup):
    """The commands, with one line instead of a traceback when the database has no tables."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Every command is this group's own (``app.cli`` adds the same ones): listing them needs
        # no app, so `--help` on a host not configured yet is the list, not "Error: …SECRET_KEY…".
        self._load_plugin_commands()
        return sorted(click.Group.list_commands(self, ctx))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        # A mistyped command is "No such command", not first a settings error from loading the app.
        self._load_plugin_commands()
        return click.Group.get_command(self, ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        import sqlalchemy as sa

        try:
            return super().invoke(ctx)
        except (sa.exc.DBAPIError, StoreUnavailableError) as exc:
            if not missing_tables(exc):
                if isinstance(exc, (sa.exc.OperationalError, StoreUnavailableError)):
                    raise _unavailable(exc, _database_url(ctx)) from None
                raise
            url = ""
            with contextlib.suppress(Exception):
                url = str(current_app.config["DATABASE_URL"])
                db.get_engine().dispose()
            if not url:
                with contextlib.suppress(Exception):
                    app = ctx.ensure_object(ScriptInfo).load_app()
                    url = str(app.config["DATABASE_URL"])
                    db.get_engine(app).dispose()
            if url:
                _drop_if_empty(url)
            shown = sa.make_url(url).render_as_string(hide_password=True) if url else "?"
            raise click.ClickException(
                f"Cơ sở dữ liệu chưa có bảng ({shown}): chạy `phanhoi-widget db upgrade`, hoặc "
                "`phanhoi-widget demo`, hoặc đặt PHANHOI_INSTANCE_PATH / PHANHOI_DATABASE_URL tới "
                "cơ sở dữ liệu đang dùng. / The database has no tables: run `phanhoi-widget db upgrade` "
                "(or the demo), or point PHANHOI_INSTANCE_PATH / PHANHOI_DATABASE_URL at the one in use."
            ) from None
