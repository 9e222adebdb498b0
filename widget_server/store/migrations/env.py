"""Alembic environment: the engine comes from the app (``widget_server.db.upgrade``)."""

from typing import Any, Literal

from alembic import context

from widget_server.store.db import UTCDateTime, make_engine, metadata

config = context.config

# pg_advisory_xact_lock key for schema migrations ("phanhoi" in ASCII, as a 64-bit integer):
# two relays starting on a fresh PostgreSQL database migrate one after the other.
MIGRATION_LOCK = 0x70_68_61_6E_68_6F_69


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Migrations stay plain SQLAlchemy: UTCDateTime is a naive DateTime in the database.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Held until the commit below; the second process then finds the schema current.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_item=render_item,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
