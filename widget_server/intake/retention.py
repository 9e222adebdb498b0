"""Personal-data lifecycle: redact what the relay no longer needs (Law 91/2025/QH15).

The relay keeps a citizen's name, contacts, address, position and files only
to forward them. So:

* after the central system acknowledged a submission (``forwarded_at``) and
  ``PII_RETENTION_DAYS`` passed, or when it never did (its forward dead and not replayed)
  and as many days passed since it was sent, ``phanhoi-widget retention run`` redacts them:
  the submission's columns, the copies inside its outbox rows' payloads, and its
  attachments (files removed, rows marked deleted). The keyed contact digests
  stay, so the citizen still looks the case up by code and phone or email;
* a ``delete`` data request redacts at once. When the central system already
  has the data it is told by the ``submission.data_request`` event (which holds
  no personal data); when it does not, the pending forward is cancelled first,
  so the data never leaves the relay;
* a ``withdraw_consent`` before the forward likewise cancels the forward, and
  with nothing left to forward the data is redacted at once. After the forward
  the withdrawal is passed on by its event and normal retention applies.

A forward a worker is sending right now (leased) is never cancelled under it:
that submission is handled on the next run, once the outcome is known.

The same run drops ``Idempotency-Key`` answers past ``IDEMPOTENCY_TTL_HOURS``, which nothing
reads any more (a retry after that is a new request) and which would otherwise grow with every
request; in batches, so a first run on a large table never holds the store's write lock long.
The ids of the central system's events stay: a redelivery is signed afresh, so its age says
nothing, and an id dropped would let a late copy of an event apply again.

It also removes stored files that no attachment names, once older than ``ORPHAN_AGE``: a file is
written before the transaction that records it, so a process killed in between leaves one (a
citizen's photo, kept nowhere else and never redacted otherwise), as does a redaction killed
between its commit and removing the files; and writes a killed process left unfinished.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Connection

from widget_server.intake import attachments, hooks, idempotency
from widget_server.store import db
from widget_server.store.blobs import get_storage

log = logging.getLogger("widget_server.retention")

CANCELLED = "cancelled"
# The submitter's details, and free text a citizen may have put them in (the rating comment).
PII_COLUMNS = ("name", "phone", "email", "address", "lat", "lon", "rating_comment")
#: Expired idempotency answers deleted per transaction.
PURGE_BATCH = 1000
#: A stored file that no attachment names, this much older than the run, is left over from a
#: request that never committed (its process killed between writing the file and the commit,
#: or a redaction killed between its commit and removing the files): removed. A request lasts
#: seconds (gunicorn's timeout), so no upload still on its way is this old.
ORPHAN_AGE = dt.timedelta(hours=1)


@dataclass
class Report:
    dry_run: bool
    redacted: list[str] = field(default_factory=list)  # tracking codes
    forwards_cancelled: int = 0
    outbox_rows_redacted: int = 0
    attachments_deleted: int = 0
    skipped_in_flight: list[str] = field(default_factory=list)
    idempotency_keys_purged: int = 0
    orphaned_files_deleted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "redacted": len(self.redacted),
            "tracking_codes": self.redacted,
            "forwards_cancelled": self.forwards_cancelled,
            "outbox_rows_redacted": self.outbox_rows_redacted,
            "attachments_deleted": self.attachments_deleted,
            "skipped_in_flight": self.skipped_in_flight,
            "idempotency_keys_purged": self.idempotency_keys_purged,
            "orphaned_files_deleted": self.orphaned_files_deleted,
        }


def _due(conn: Connection, now: dt.datetime) -> list[Any]:
    s, o = db.submissions.c, db.outbox.c
    cutoff = now - dt.timedelta(days=int(current_app.config["PII_RETENTION_DAYS"]))
    # A forward still being tried, or sent and not yet recorded as acknowledged.
    on_its_way = sa.exists().where(o.submission_id == s.id, o.event_type == "submission.created",
                                   o.state.in_(("pending", "delivered")))
    return list(conn.execute(
        sa.select(s.id, s.tracking_code).where(
            s.redacted_at.is_(None),
            sa.or_(
                s.forwarded_at <= cutoff,
                s.deletion_requested_at.is_not(None),
                sa.and_(s.consent_withdrawn_at.is_not(None), s.forwarded_at.is_(None)),
                # Never acknowledged (its forward dead: refused, or past its retry window) and
                # not replayed within the window: kept for nothing, it goes too.
                sa.and_(s.forwarded_at.is_(None), s.submitted_at <= cutoff, ~on_its_way),
            ),
        ).order_by(s.submitted_at)
    ).all())


def redact_payload(payload: Any) -> Any:
    """An outbox payload without the submitter, address, position and attachment links."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        return payload
    data = dict(payload["data"])
    changed = False
    if "submitter" in data:
        data["submitter"] = {"name": None, "phone": None, "email": None}
        changed = True
    if isinstance(data.get("location"), dict):
        data["location"] = {**data["location"], "address": None, "lat": None, "lon": None}
        changed = True
    if data.get("attachments"):
        data["attachments"] = []
        changed = True
    for free_text in ("content", "comment"):  # citizens often write their address or phone here
        if data.get(free_text):
            data[free_text] = None
            changed = True
    if not changed:
        return payload
    data["redacted"] = True
    return {**payload, "data": data}


def _redact_one(conn: Connection, submission_id: str, now: dt.datetime, report: Report,
                dry_run: bool) -> list[str]:
    """Redact one submission inside ``conn``'s transaction; returns storage keys to remove."""
    row = conn.execute(sa.select(db.submissions).where(db.submissions.c.id == submission_id)).one()
    if row.redacted_at is not None:
        return []
    forwarded = row.forwarded_at is not None
    query = (sa.select(db.outbox.c.id, db.outbox.c.event_type, db.outbox.c.state,
                       db.outbox.c.payload, db.outbox.c.lease_until)
             .where(db.outbox.c.submission_id == submission_id))
    if db.is_postgres(conn):
        # A worker may be claiming these rows right now: wait for its claim and see its lease,
        # rather than cancel a forward it is already sending (it would go out unredacted).
        query = query.with_for_update()
    rows = conn.execute(query).all()
    if not forwarded:
        created = [r for r in rows if r.event_type == "submission.created"]
        in_flight = [r for r in created if r.state == "pending" and r.lease_until is not None
                     and r.lease_until > now]
        if in_flight or any(r.state == "delivered" for r in created):
            # Being sent now, or sent and not yet recorded: decide on the next run.
            report.skipped_in_flight.append(row.tracking_code)
            return []
        # Never reached the central system: nothing of it should go there now, nor later
        # (a dead row left as it is would go out with the next ``outbox retry --all-dead``).
        pending = [r.id for r in rows if r.state in ("pending", "dead")]
        report.forwards_cancelled += len(pending)
        if pending and not dry_run:
            conn.execute(sa.update(db.outbox).where(db.outbox.c.id.in_(pending)).values(
                state=CANCELLED, lease_owner=None, lease_until=None,
                last_error="cancelled: personal data redacted before forwarding"))
    report.redacted.append(row.tracking_code)
    keys: list[str] = []
    for r in rows:
        cleaned = redact_payload(r.payload)
        if cleaned is not r.payload:
            report.outbox_rows_redacted += 1
            if not dry_run:
                conn.execute(sa.update(db.outbox).where(db.outbox.c.id == r.id).values(payload=cleaned))
    live = conn.execute(sa.select(sa.func.count()).select_from(db.attachments).where(
        db.attachments.c.submission_id == submission_id, db.attachments.c.deleted_at.is_(None))
    ).scalar_one()
    report.attachments_deleted += live
    if dry_run:
        return []
    keys = attachments.delete_for_submission(conn, submission_id)
    for hook in hooks.current().on_redact:
        hook(conn, submission_id, now)  # the notice's contact goes too, pending notices with it
    conn.execute(sa.update(db.submissions).where(db.submissions.c.id == submission_id).values(
        **{c: None for c in PII_COLUMNS}, content="", redacted_at=now, updated_at=now))
    return keys


def run(*, dry_run: bool = False, now: dt.datetime | None = None,
        submission_ids: list[str] | None = None) -> Report:
    """Redact everything due (or only ``submission_ids``); ``dry_run`` only reports."""
    now = now or db.utcnow()
    report = Report(dry_run=dry_run)
    with db.read() as conn:
        due = _due(conn, now)
    if submission_ids is not None:
        due = [d for d in due if d.id in set(submission_ids)]
    for item in due:
        with db.write() as conn:
            keys = _redact_one(conn, item.id, now, report, dry_run)
        # Files go only after the rows that point at them are committed as deleted.
        attachments.remove_files(keys)
    if submission_ids is None:  # the daily run, not a data request acted on at once
        report.idempotency_keys_purged = _purge_idempotency_keys(now, dry_run)
        report.orphaned_files_deleted = _sweep_orphaned_files(now, dry_run)
    if not dry_run and report.redacted:
        log.info("retention: %d submission(s) redacted, %d attachment(s) deleted, "
                 "%d forward(s) cancelled", len(report.redacted), report.attachments_deleted,
                 report.forwards_cancelled)
    if not dry_run and report.idempotency_keys_purged:
        log.info("retention: %d expired idempotency answer(s) dropped", report.idempotency_keys_purged)
    if not dry_run and report.orphaned_files_deleted:
        log.info("retention: %d stored file(s) no attachment names removed", report.orphaned_files_deleted)
    return report


def _sweep_orphaned_files(now: dt.datetime, dry_run: bool) -> int:
    """Remove the stored files older than ``ORPHAN_AGE`` that no live attachment names; how
    many (would) go."""
    storage = get_storage()
    cutoff = (now - ORPHAN_AGE).timestamp()
    a = db.attachments.c
    found = 0
    for keys in storage.written_before(cutoff):
        for start in range(0, len(keys), 500):
            batch = keys[start:start + 500]
            with db.read() as conn:
                named = set(conn.execute(sa.select(a.storage_key).where(
                    a.storage_key.in_(batch), a.deleted_at.is_(None))).scalars())
            orphans = [key for key in batch if key not in named]
            found += len(orphans)
            if not dry_run:
                attachments.remove_files(orphans)
    if not dry_run:
        storage.drop_unfinished(cutoff)
    return found


def _purge_idempotency_keys(now: dt.datetime, dry_run: bool) -> int:
    """Delete the answers past the TTL, a batch per transaction; how many (would) go."""
    k = db.idempotency_keys.c
    stale = k.created_at <= now - idempotency.ttl()
    if dry_run:
        with db.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(db.idempotency_keys)
                                    .where(stale)).scalar_one())
    batch = sa.select(k.site_id, k.key).where(stale).limit(PURGE_BATCH)
    # ``stale`` again outside the batch's query: on PostgreSQL a row another transaction changed
    # meanwhile (a key claimed again) is checked anew against the DELETE's own condition only.
    statement = sa.delete(db.idempotency_keys).where(stale, sa.tuple_(k.site_id, k.key).in_(batch))
    done = 0
    while True:
        with db.write() as conn:
            gone = conn.execute(statement).rowcount
        done += gone
        if gone < PURGE_BATCH:
            return done


def apply_data_request(tracking_code: str) -> Report:
    """Act on a data request at once (called after it is recorded)."""
    with db.read() as conn:
        row = conn.execute(sa.select(db.submissions.c.id).where(
            db.submissions.c.tracking_code == tracking_code)).one_or_none()
    if row is None:
        return Report(dry_run=False)
    return run(submission_ids=[row.id])
