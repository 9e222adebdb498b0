"""What a citizen does with a tracking code: look up the status, rate the answer, ask about their data.

Each change commits together with the outbox row that tells the central system.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from widget_server.errors import ConflictError, NotFoundError
from widget_server.i18n import status_label
from widget_server.intake import actions, retention, sites
from widget_server.intake.contacts import canonical_code, find, matches
from widget_server.intake.idempotency import hash_request
from widget_server.store import db, direct, outbox
from widget_server.vocab import ANSWERED, FINAL

NOT_FOUND = "Không tìm thấy phản ánh với mã và thông tin liên hệ này."


def not_found() -> NotFoundError:
    return NotFoundError(NOT_FOUND, code="submission-not-found")


def overdue(row: Any, now: dt.datetime | None = None) -> bool:
    now = now or db.utcnow()
    return bool(row.deadline and row.status not in ANSWERED | FINAL and now > row.deadline)


def describe(conn: Connection | None, row: Any, lang: str = "vi",
             entries: Sequence[Any] | None = None) -> dict[str, Any]:
    """What the citizen sees; ``entries`` (status, at, note) when already read, else read here."""
    if entries is None:
        assert conn is not None
        # In the order the relay learned of them: the central system's clock may lag ours.
        entries = conn.execute(
            sa.select(db.history.c.status, db.history.c.at, db.history.c.note)
            .where(db.history.c.submission_id == row.id).order_by(db.history.c.id)
        ).all()
    answer = None
    if row.answer_text:
        answer = {"text": row.answer_text, "agency": row.answer_agency,
                  "answered_at": row.answered_at}
    rating = None
    if row.rated_at:
        rating = {"satisfied": row.rating_satisfied, "comment": row.rating_comment,
                  "rated_at": row.rated_at}
    return {
        "tracking_code": row.tracking_code,
        "status": row.status,
        "status_label": status_label(row.status, lang),
        "category": row.category,
        "title": row.title,
        "submitted_at": row.submitted_at,
        "deadline": row.deadline,
        "overdue": overdue(row),
        "history": [
            {"status": e.status, "status_label": status_label(e.status, lang), "at": e.at,
             "note": e.note}
            for e in entries
        ],
        "answer": answer,
        "rating": rating,
        "can_rate": row.status in ANSWERED and row.rated_at is None,
        "consent_withdrawn": row.consent_withdrawn_at is not None,
        "redacted": row.redacted_at is not None,
    }


_s, _h = db.submissions.c, db.history.c
# The submission with its history in one read: a row per entry (history is never empty, but
# an outer join keeps the submission if it were), oldest first.
_LOOKUP = direct.Statement(
    sa.select(_s.id, _s.tracking_code, _s.status, _s.category, _s.title, _s.submitted_at,
              _s.deadline, _s.answer_text, _s.answer_agency, _s.answered_at, _s.rating_satisfied,
              _s.rating_comment, _s.rated_at, _s.consent_withdrawn_at, _s.redacted_at,
              _s.phone_digest, _s.email_digest,
              _h.id.label("entry_id"), _h.status.label("entry_status"), _h.at.label("entry_at"),
              _h.note.label("entry_note"))
    .select_from(db.submissions.outerjoin(db.history, _h.submission_id == _s.id))
    .where(_s.tracking_code == sa.bindparam("code"))
    .order_by(_h.id)
)


def lookup(tracking_code: str, contact: str, lang: str = "vi") -> dict[str, Any] | None:
    """Status, history and answer when code and contact match; None for either miss (one query,
    and the same digest work whether the code exists or not)."""
    canonical = canonical_code(tracking_code)
    rows: Sequence[Any] = []
    if canonical:  # one statement: on PostgreSQL no BEGIN/COMMIT, retried once on a lost connection
        rows = db.query(_LOOKUP, {"code": canonical})
    row = rows[0] if rows else None
    if not matches(row, contact):
        return None
    return describe(None, row, lang, [_Entry(r.entry_status, r.entry_at, r.entry_note)
                                      for r in rows if r.entry_id is not None])


class _Entry(NamedTuple):
    status: str
    at: dt.datetime
    note: str | None


def rate(tracking_code: str, contact: str, satisfied: bool, comment: str | None,
         lang: str = "vi", *, idempotency_key: str | None = None) -> dict[str, Any]:
    """Record the rating; a retry with the same ``idempotency_key`` gets the answer again
    instead of "already rated"."""
    now = db.utcnow()
    req_hash = hash_request({"satisfied": satisfied, "comment": comment})
    with db.write() as conn:
        row = find(conn, tracking_code, contact)
        if row is None:
            raise not_found()
        if actions.replay(conn, row, "rating", idempotency_key, req_hash) is not None:
            return describe(conn, row, lang)  # the state now, which holds this rating
        if row.status not in ANSWERED:
            raise ConflictError("Chỉ có thể đánh giá sau khi phản ánh đã được trả lời.", code="rating-not-allowed")
        if row.rated_at is not None:
            raise ConflictError("Bạn đã đánh giá phản ánh này.", code="rating-not-allowed")
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == row.id).values(
            rating_satisfied=satisfied, rating_comment=comment, rated_at=now, updated_at=now))
        destination = sites.destination_of(conn, row.site_id)
        outbox.enqueue(conn, destination=destination, event_type="submission.rated",
                       submission_id=row.id, data={
                           "submission_id": row.id, "central_id": row.central_id,
                           "tracking_code": row.tracking_code, "satisfied": satisfied,
                           "comment": comment, "rated_at": now.isoformat()})
        actions.remember(conn, row, "rating", idempotency_key, req_hash, 200, {})
        fresh = conn.execute(sa.select(db.submissions).where(db.submissions.c.id == row.id)).one()
        return describe(conn, fresh, lang)


DATA_REQUEST_MESSAGES = {
    "withdraw_consent": "Đã ghi nhận yêu cầu rút lại đồng ý. Hệ thống tỉnh được thông báo; "
                        "bạn sẽ nhận phản hồi trong 2 ngày làm việc.",
    "delete": "Đã ghi nhận yêu cầu xóa dữ liệu cá nhân. Hệ thống tỉnh được thông báo; "
              "bạn sẽ nhận phản hồi trong 2 ngày làm việc.",
}
#: Asked before the forward: it is cancelled, the personal data erased here, nothing sent.
NOT_FORWARDED_MESSAGES = {
    "withdraw_consent": "Đã ghi nhận yêu cầu rút lại đồng ý. Phản ánh chưa được chuyển tới hệ thống tỉnh: "
                        "việc chuyển đã hủy, dữ liệu cá nhân của bạn đã xóa tại đây, không có gì được gửi đi.",
    "delete": "Đã xóa dữ liệu cá nhân của bạn. Phản ánh chưa được chuyển tới hệ thống tỉnh: "
              "việc chuyển đã hủy, không có gì được gửi đi.",
}


def data_request(tracking_code: str, contact: str, kind: str, *,
                 idempotency_key: str | None = None) -> dict[str, Any]:
    """Withdraw consent or ask for deletion (Law 91/2025/QH15); forwarded as an event.

    A retry with the same ``idempotency_key`` gets the first answer and is forwarded once."""
    now = db.utcnow()
    req_hash = hash_request({"kind": kind})
    with db.write() as conn:
        row = find(conn, tracking_code, contact)
        if row is None:
            raise not_found()
        previous = actions.replay(conn, row, "data-request", idempotency_key, req_hash)
        if previous is not None:
            return {**previous, "requested_at": dt.datetime.fromisoformat(previous["requested_at"])}
        column = "consent_withdrawn_at" if kind == "withdraw_consent" else "deletion_requested_at"
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == row.id)
                     .values(**{column: now, "updated_at": now}))
        destination = sites.destination_of(conn, row.site_id)
        outbox.enqueue(conn, destination=destination, event_type="submission.data_request",
                       submission_id=row.id, data={
                           "submission_id": row.id, "central_id": row.central_id,
                           "tracking_code": row.tracking_code, "kind": kind,
                           "requested_at": now.isoformat()})
        answer = {"tracking_code": row.tracking_code, "kind": kind, "requested_at": now.isoformat(),
                  "message": DATA_REQUEST_MESSAGES[kind], "forward_cancelled": False}
        actions.remember(conn, row, "data-request", idempotency_key, req_hash, 202, answer)
    # Deletion (and a withdrawal before the forward) takes effect now, not at the next
    # retention run; see retention.py for what is cancelled and what is kept.
    if retention.apply_data_request(row.tracking_code).forwards_cancelled:
        answer.update(message=NOT_FORWARDED_MESSAGES[kind], forward_cancelled=True)  # nothing was sent
        with db.write() as conn:
            actions.remember(conn, row, "data-request", idempotency_key, req_hash, 202, answer)
    return {**answer, "requested_at": now}
