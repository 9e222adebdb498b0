"""The store: tables, engine, migrations and blob storage. Imports nothing above it."""

from widget_server.store import notices as notices  # its table joins db.metadata on import
