"""The store: tables, engine, migrations and blob storage. Imports nothing above it."""
