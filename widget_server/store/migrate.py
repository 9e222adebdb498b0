"""Schema migrations: Alembic, with its scripts in ``store/migrations/`` (PostgreSQL takes an
advisory lock in ``env.py``, so several relays starting on one fresh database do not race)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


#: What to do about a database without the relay's tables (the commands' and the worker's words).
NO_TABLES = ("Cơ sở dữ liệu chưa có bảng: chạy `phanhoi-widget db upgrade`. / The database has no "
             "tables: run `phanhoi-widget db upgrade`.")


def missing_tables(exc: BaseException | None) -> bool:
    """The database exists but has no schema yet: SQLite's and PostgreSQL's words for it,
    anywhere in the chain (the store reports a failed write as StoreUnavailableError)."""
    while exc is not None:
        text = str(getattr(exc, "orig", exc))
        if "no such table" in text or ("relation" in text and "does not exist" in text):
            return True
        exc = exc.__cause__
    return False


def out_of_reach(exc: BaseException | None) -> str:
    """The driver's reason, on one line, when the database could not be used at all (down, a
    wrong host, a file that cannot be opened); "" for any other failure. Never the statement:
    the engines hide parameters, and only the driver's own message is read."""
    import sqlalchemy as sa

    while exc is not None:
        if isinstance(exc, sa.exc.OperationalError):
            return " ".join(str(exc.orig).split())[:300]
        exc = exc.__cause__
    return ""
