"""The store: tables, engine, migrations and blob storage. Imports nothing above it."""

# Every table belongs to ``db.metadata`` as soon as the store is imported (tests truncate by it).
from widget_server.store import notices as notices
from widget_server.store import operations as operations
from widget_server.store import published as published
from widget_server.store import versions as versions

__all__ = ["notices", "operations", "published", "versions"]
