"""Reading Open311 back-ends back: batch tokens resolved, statuses applied as status events.

GeoReport v2 pushes nothing, so the relay asks. :func:`sync` takes every
submission forwarded to an ``open311`` site that is not final yet, turns a
batch ``token`` into its ``service_request_id`` (``GET tokens/{token}.json``),
reads the request (``GET requests/{id}.json``) and, when its status or notes
changed, applies a ``submission.status_changed`` event through
:func:`submissions.apply_status_event`, the path and checks the central
system's own events take, with the next sequence number. The event id is made
from the submission and the sequence, so two workers syncing at once apply it
once.

GeoReport v2 knows two statuses. ``open`` reads as ``accepted`` ("đã tiếp
nhận"), or ``in_progress`` once the back-end writes ``status_notes``;
``closed`` reads as ``answered``, its notes the answer. An answered submission
is not read again.

Run by the worker every ``PHANHOI_OPEN311_SYNC_MINUTES`` and by
``phanhoi-widget open311 sync``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa
from marshmallow import ValidationError

from widget_server.delivery.destinations.open311 import UNRESOLVED_PREFIX, Open311Destination, RemoteStatus
from widget_server.errors import NotFoundError
from widget_server.intake import status_events
from widget_server.intake.event_schemas import StatusEventDataSchema
from widget_server.store import db

log = logging.getLogger("widget_server.open311")

#: Statuses after which a back-end is not asked again.
SETTLED = frozenset({"answered", "rejected", "published"})


@dataclasses.dataclass
class SyncReport:
    checked: int = 0
    resolved: int = 0  # tokens turned into service_request_ids
    applied: int = 0  # status events applied
    unreachable: int = 0  # requests the back-end did not answer for


def event_data(row: Any, remote: RemoteStatus) -> dict[str, Any] | None:
    """The status event a remote status means for ``row``, or None when nothing changed."""
    if remote.status == "closed":
        status, note, answer = "answered", None, remote.notes
    elif remote.notes:
        status, note, answer = "in_progress", remote.notes, None
    else:
        status, note, answer = "accepted", None, None
    if status == row.status and note == row.status_note:
        return None
    raw = {
        "submission_id": row.id,
        "central_id": remote.service_request_id[:100],
        "status": status,
        "note": note[:5000] if note else None,
        "answer": answer[:20000] if answer else None,
        "agency": remote.agency,
        "sequence": row.status_sequence + 1,
        "updated_at": _aware(remote.updated),
    }
    # The same validation as an event the central system sends (schemas.StatusEventDataSchema).
    return dict(StatusEventDataSchema().load(raw))


def _aware(value: str | None) -> str | None:
    """GeoReport's ``updated_datetime`` when it is ISO 8601 with a zone (the spec's form), else None."""
    try:
        parsed = dt.datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return value if parsed.tzinfo is not None else None


def pending(engine: Any) -> list[Any]:
    """Submissions an Open311 back-end has and has not settled (ids, statuses: no personal data)."""
    s = db.submissions
    query = (sa.select(s.c.id, s.c.central_id, s.c.status, s.c.status_note, s.c.status_sequence)
             .select_from(s.join(db.sites, db.sites.c.id == s.c.site_id))
             .where(db.sites.c.destination == "open311", s.c.central_id.is_not(None),
                    s.c.status.not_in(SETTLED))
             .order_by(s.c.submitted_at))
    with db.read(engine) as conn:
        return list(conn.execute(query).all())


def _remember_request_id(engine: Any, submission_id: str, request_id: str) -> None:
    s = db.submissions
    with db.write(engine) as conn:
        conn.execute(sa.update(s).where(s.c.id == submission_id, s.c.central_id.like(UNRESOLVED_PREFIX + "%"))
                     .values(central_id=request_id[:100]))


def sync(destination: Open311Destination, engine: Any = None) -> SyncReport:
    """One read-back round over every unsettled Open311 submission (inside an app context)."""
    engine = engine or db.get_engine()
    report = SyncReport()
    for row in pending(engine):
        report.checked += 1
        request_id = row.central_id
        if request_id.startswith(UNRESOLVED_PREFIX):
            request_id = destination.resolve_token(request_id.removeprefix(UNRESOLVED_PREFIX))
            if request_id is None:
                report.unreachable += 1
                continue
            _remember_request_id(engine, row.id, request_id)
            report.resolved += 1
        remote = destination.fetch_status(request_id)
        if remote is None:
            report.unreachable += 1
            continue
        try:
            data = event_data(row, remote)
        except ValidationError:  # e.g. an id longer than the relay keeps: an operator looks
            log.warning("open311 sync: unusable answer for submission %s", row.id)
            report.unreachable += 1
            continue
        if data is None:
            continue
        msg_id = f"open311_{row.id}_{data['sequence']}"
        try:
            _duplicate, applied = status_events.apply_status_event(msg_id, data)
        except NotFoundError:  # deleted meanwhile
            continue
        report.applied += int(applied)
    if report.checked:
        log.info("open311 sync: %d checked, %d tokens resolved, %d statuses applied, %d unanswered",
                 report.checked, report.resolved, report.applied, report.unreachable)
    return report
