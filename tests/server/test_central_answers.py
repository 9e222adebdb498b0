"""What the relay keeps of a central system's odd answers, and that a worker goes on after them.

The central system is faked with ``responses`` (outgoing HTTP only); the relay's database is
real (SQLite, and PostgreSQL in the ``-m db`` run).
"""

from __future__ import annotations

from typing import Any

import pytest
import responses
import sqlalchemy as sa

from widget_server.delivery.worker import Worker
from widget_server.intake import submissions
from widget_server.store import db

INTAKE = "http://central.test/intake/v1/submissions"


@pytest.fixture
def submit(app: Any, site: Any, submission_body: dict[str, Any]):
    def _submit() -> dict[str, Any]:
        return submissions.create_submission(site[0], dict(submission_body), via="api")
    return _submit


def stored(app: Any) -> tuple[dict[str, str | None], set[str]]:
    """Each submission's central id, and the outbox rows' states."""
    with db.read(db.get_engine(app)) as conn:
        ids = {r.id: r.central_id for r in conn.execute(sa.select(db.submissions))}
        states = set(conn.execute(sa.select(db.outbox.c.state)).scalars())
    return ids, states


@responses.activate
@pytest.mark.parametrize("central_id", ["TH\x00-1", "TH-\n1", {"id": "TH-1"}, ["TH-1"], True])
def test_an_unusable_central_id_is_not_kept_and_the_worker_goes_on(app, submit, central_id):
    """A 2xx whose ``central_id`` is no identifier (a NUL, which PostgreSQL cannot store and
    which failed the worker's whole round, again each round; an object, kept as its Python
    repr): the submission is delivered, without a central id (its status events bring one)."""
    first, second = submit(), submit()
    responses.add(responses.POST, INTAKE, status=201,
                  json={"central_id": central_id, "status": "received\x00"})
    responses.add(responses.POST, INTAKE, status=201, json={"central_id": 4711, "status": "received"})
    assert Worker(app, "w", concurrency=1).run_once() == 2
    ids, states = stored(app)
    assert states == {"delivered"}
    assert sorted(ids.values(), key=lambda v: v or "") == [None, "4711"]
    assert set(ids) == {first["id"], second["id"]}


@responses.activate
@pytest.mark.parametrize(("status", "state"), [(422, "dead"), (500, "pending"), (401, "pending")])
def test_an_error_title_is_kept_without_control_characters(app, submit, status, state):
    """A problem title carrying a NUL (PostgreSQL cannot store it: the worker's round failed, and
    every round after it) or a terminal escape (``outbox list`` prints it): kept as spaces."""
    submit()
    responses.add(responses.POST, INTAKE, status=status,
                  json={"title": "Sai\x00mẫu\x1b[2J 0912\x00345678"})
    Worker(app, "w", concurrency=1).run_once()
    with db.read(db.get_engine(app)) as conn:
        [row] = conn.execute(sa.select(db.outbox.c.last_error, db.outbox.c.state)).all()
    assert row.state == state
    assert row.last_error == f"HTTP {status}: Sai mẫu [2J …"
