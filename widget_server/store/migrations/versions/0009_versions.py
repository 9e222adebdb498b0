"""change counters for the per-process caches, bumped by triggers

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Written out here: a migration must not change when the code's list later grows.
WATCHED = {"sites": "sites", "reference_lists": "reference", "published_results": "results"}
EVENTS = ("insert", "update", "delete")
BUMP = ("INSERT INTO versions (name, n) VALUES ('{kind}', 1) "
        "ON CONFLICT (name) DO UPDATE SET n = versions.n + 1")


def upgrade() -> None:
    op.create_table(
        "versions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_versions")),
    )
    bind = op.get_bind()
    for kind in sorted(set(WATCHED.values())):
        bind.execute(sa.text("INSERT INTO versions (name, n) VALUES (:k, 1)"), {"k": kind})
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION phanhoi_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN " + BUMP.replace("'{kind}'", "TG_ARGV[0]") + "; RETURN NULL; END $$")
        for table, kind in WATCHED.items():
            op.execute(
                f"CREATE TRIGGER {table}_bump_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION phanhoi_bump_version('{kind}')")
    else:
        for table, kind in WATCHED.items():
            for event in EVENTS:
                op.execute(
                    f"CREATE TRIGGER {table}_{event}_bump_version AFTER {event.upper()} ON {table} "
                    f"BEGIN {BUMP.format(kind=kind)}; END")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS phanhoi_bump_version()")
    else:
        for table in WATCHED:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}_bump_version")
    op.drop_table("versions")
