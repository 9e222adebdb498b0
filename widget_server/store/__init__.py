"""The store: tables, engine, migrations and blob storage. Imports nothing above it."""

# Every table on the one metadata, wherever ``db`` is imported (truncates, migrations' checks).
from widget_server.store import db, operations  # noqa: E402,F401
