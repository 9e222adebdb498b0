"""Results coming in: ``result.published`` / ``result.withdrawn`` from the central system,
and relay submissions whose status becomes ``published``.

Like status events (docs/protocol.md): a webhook id is applied once, and for one
result the newest event (by the body's ``timestamp``) wins, so events may arrive
twice, late or out of order. A withdrawal leaves a row with ``withdrawn_at`` set
and its texts emptied: an older publication arriving late cannot bring it back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from widget_server.intake import personal
from widget_server.results import listing
from widget_server.results.cache import public_cache
from widget_server.store import db
from widget_server.store.published import results
from widget_server.vocab import Status



def apply_event(msg_id: str, event_type: str, event: dict[str, Any]) -> tuple[bool, bool]:
    """Apply a result event; returns (duplicate, applied)."""
    try:
        with db.write() as conn:
            if conn.execute(sa.select(db.inbound_events.c.id)
                            .where(db.inbound_events.c.id == msg_id)).first():
                return True, False
            conn.execute(sa.insert(db.inbound_events).values(
                id=msg_id, event_type=event_type, received_at=db.utcnow()))
            at = event.get("timestamp") or db.utcnow()
            if event_type == "result.withdrawn":
                return False, withdraw(conn, event["data"]["result_id"], at)
            return False, publish(conn, event["data"], at)
    except IntegrityError:
        # The same webhook id was being applied at the same moment and committed first.
        with db.read() as conn:
            if conn.execute(sa.select(db.inbound_events.c.id)
                            .where(db.inbound_events.c.id == msg_id)).first():
                return True, False
        raise


def _current(conn: Connection, result_id: str) -> Any:
    query = sa.select(results).where(results.c.id == result_id)
    if db.is_postgres(conn):
        query = query.with_for_update()  # events for one result apply one at a time
    return conn.execute(query).one_or_none()


def _search_key(*parts: str | None) -> str:
    # " word word ": a search matches from the start of a word (listing.conditions).
    return " " + " ".join(listing.words(" ".join(p for p in parts if p))) + " "


def publish(conn: Connection, data: dict[str, Any], at: dt.datetime) -> bool:
    """``result.published``: insert, or replace an older version (never a newer one)."""
    now = db.utcnow()
    row = _current(conn, data["result_id"])
    if row is not None and row.event_at > at:
        return False
    linked = None
    if data.get("central_id"):
        # The PAKN came through the relay: keep the link (its site, its citizen's rating).
        linked = conn.execute(sa.select(db.submissions.c.id, db.submissions.c.site_id)
                              .where(db.submissions.c.central_id == data["central_id"])).first()
    values = {
        "origin": "central",
        "central_id": data.get("central_id"),
        "submission_id": linked.id if linked else None,
        "site_id": linked.site_id if linked else None,
        "title": data["title"], "question": data.get("question"), "answer": data["answer"],
        "category": data.get("category"), "agency": listing.agency_key(data.get("agency")),
        "commune_code": data.get("commune_code"),
        "received_at": data.get("received_at"), "answered_at": data.get("answered_at"),
        "deadline": data.get("deadline"), "url": data.get("url"),
        "search_key": _search_key(data["title"], data.get("question"), data["answer"]),
        "event_at": at, "withdrawn_at": None, "updated_at": now,
    }
    if linked is not None:
        # A relay submission already listed by its own publication is the same PAKN: one entry.
        conn.execute(sa.delete(results).where(results.c.submission_id == linked.id,
                                              results.c.origin == "relay",
                                              results.c.id != data["result_id"]))
    if row is None:
        published_at = now
        conn.execute(sa.insert(results).values(
            id=data["result_id"], published_at=published_at,
            sort_at=data.get("answered_at") or published_at, **values))
    else:
        conn.execute(sa.update(results).where(results.c.id == row.id).values(
            sort_at=data.get("answered_at") or row.published_at, **values))
    return True


def withdraw(conn: Connection, result_id: str, at: dt.datetime) -> bool:
    """``result.withdrawn``: gone from every output; a tombstone keeps older events out."""
    now = db.utcnow()
    row = _current(conn, result_id)
    if row is not None and row.event_at > at:
        return False
    values = {"withdrawn_at": now, "event_at": at, "updated_at": now, "title": "", "question": None,
              "answer": "", "search_key": "", "url": None}
    if row is None:
        conn.execute(sa.insert(results).values(id=result_id, origin="central", published_at=now,
                                               sort_at=now, **values))
    else:
        conn.execute(sa.update(results).where(results.c.id == result_id).values(**values))
    return True


def join_from_submission(conn: Connection, submission_id: str) -> None:
    """A relay submission whose status became ``published`` joins the list: its title and the
    answer, never its content, submitter or attachments (called in the status event's transaction).
    """
    s = db.submissions.c
    row = conn.execute(sa.select(db.submissions).where(s.id == submission_id)).one_or_none()
    if row is None or row.status != Status.PUBLISHED.value or not row.answer_text:
        return
    claimed = conn.execute(sa.select(results.c.id).where(
        sa.or_(results.c.submission_id == row.id,
               sa.and_(results.c.central_id.is_not(None), results.c.central_id == row.central_id)),
        results.c.origin == "central")).first()
    if claimed:
        return  # the central system published it itself, with its edited public text
    known = _submitter(row)
    # What a citizen may have written that must not be published (relay results only: the
    # central system's publication is text its operators edited for the public).
    title = personal.hide(row.title, known)
    answer = personal.hide(row.answer_text, known)
    now = db.utcnow()
    result_id = row.central_id or public_id(row.id)
    values = {
        "origin": "relay", "central_id": row.central_id, "submission_id": row.id,
        "site_id": row.site_id, "title": title, "question": None, "answer": answer,
        "category": row.category, "agency": listing.agency_key(row.answer_agency or row.agency),
        "commune_code": row.commune_code, "received_at": row.submitted_at,
        "answered_at": row.answered_at, "deadline": row.deadline, "url": None,
        "search_key": _search_key(title, answer), "sort_at": row.answered_at or now,
        "event_at": now, "withdrawn_at": None, "updated_at": now,
    }
    existing = conn.execute(sa.select(results.c.id).where(results.c.id == result_id)).first()
    if existing:
        conn.execute(sa.update(results).where(results.c.id == result_id).values(**values))
    else:
        conn.execute(sa.insert(results).values(id=result_id, published_at=now, **values))


def _submitter(row: Any) -> list[str | None]:
    """The details of a submission's row hidden from what is published of it."""
    return [row.name, row.phone, local_national_number(row.phone), row.email, row.address]


def public_id(submission_id: str) -> str:
    """A result id for a relay-only result that tells nothing about the submission's own id."""
    return "r-" + hashlib.sha256(f"phanhoi.result:{submission_id}".encode()).hexdigest()[:20]


def local_national_number(phone: str | None) -> str | None:
    """``+84912345678`` → ``0912345678``: how the number is written in a sentence."""
    if phone and phone.startswith("+84"):
        return "0" + phone[3:]
    return phone


#: Published rows re-read per transaction by ``hide_again``.
HIDE_BATCH = 500


def hide_again(*, dry_run: bool = False) -> int:
    """The relay's own published results read again through ``personal.hide``, with their
    submitters' details: a result published before a spelling was known to it (a phone written
    ``(+84) 912 345 678``, full-width digits, a name without diacritics) leaves the public
    record at the next retention run. Only changed rows are written; how many (would) change."""
    r, s = results.c, db.submissions.c
    query = (sa.select(r.id, r.title, r.answer, s.name, s.phone, s.email, s.address)
             .select_from(results.outerjoin(db.submissions, s.id == r.submission_id))
             .where(r.origin == "relay", r.withdrawn_at.is_(None), r.id > sa.bindparam("after"))
             .order_by(r.id).limit(HIDE_BATCH))
    changed, after = 0, ""
    while True:
        with db.read() as conn:
            rows = conn.execute(query, {"after": after}).all()
        fixes = []
        for row in rows:
            known = _submitter(row)
            title, answer = personal.hide(row.title, known), personal.hide(row.answer, known)
            if (title, answer) != (row.title, row.answer):
                fixes.append({"rid": row.id, "title": title, "answer": answer, "was_title": row.title,
                              "was_answer": row.answer, "search_key": _search_key(title, answer)})
        if fixes and not dry_run:
            now = db.utcnow()
            with db.write() as conn:
                # Only a row still as it was read: one republished meanwhile keeps its new text
                # (it was hidden as it came in).
                conn.execute(sa.update(results).where(r.id == sa.bindparam("rid"),
                                                      r.title == sa.bindparam("was_title"),
                                                      r.answer == sa.bindparam("was_answer"))
                             .values(title=sa.bindparam("title"), answer=sa.bindparam("answer"),
                                     search_key=sa.bindparam("search_key"), updated_at=now), fixes)
            public_cache().forget()  # this process's answers at once; the others' within a second
        changed += len(fixes)
        if len(rows) < HIDE_BATCH:
            return changed
        after = rows[-1].id
