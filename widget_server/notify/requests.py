"""A citizen's request to be told of the answer: checked, stored, withdrawn, erased.

The request is stored with the submission, in its transaction (``intake.hooks``), with
a copy of the one contact the notice needs. That copy lives by its own rules: erased
once the last notice is sent, when the citizen withdraws, and when the submission's
personal data is redacted (retention window or a deletion request), whichever is
first; pending notices are cancelled with it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import phonenumbers
import sqlalchemy as sa
from marshmallow import ValidationError
from sqlalchemy.engine import Connection

from widget_server.intake import hooks, tracking
from widget_server.intake.contacts import find
from widget_server.intake.phones import parse_phone
from widget_server.notify import consent
from widget_server.store import db
from widget_server.store.notices import notify_requests
from widget_server.vocab import NOTICE_DESTINATIONS

CANCELLED = "cancelled"
WITHDRAWN_MESSAGE = "Đã ngừng báo tin cho bạn về phản ánh này và đã xóa thông tin liên hệ dùng để báo tin."
NOT_ASKED = "Phản ánh này không có yêu cầu báo tin."


def validate(site: Any, data: dict[str, Any]) -> None:
    """The channel is one this relay offers and the consent is the current text (intake validator)."""
    asked = data.get("notify")
    if not asked:
        return
    if asked["by"] not in consent.channels():
        raise ValidationError({"notify": {"by": ["Trang này hiện không gửi thông báo qua kênh này."]}})
    phone = (data.get("submitter") or {}).get("phone")
    if asked["by"] == "sms" and phone and not _mobile(phone):
        raise ValidationError({"submitter": {"phone": [
            "Số này không nhận được tin nhắn SMS. Vui lòng nhập số di động, hoặc chọn báo qua email."]}})
    current = consent.consent_for(site.name)
    if current is None or asked["consent"]["version"] != current.version:
        raise ValidationError({"notify": {"consent": {"version": [
            "Nội dung đồng ý nhận thông báo đã thay đổi. Vui lòng tải lại trang và đọc lại."]}}})


def _mobile(phone: str) -> bool:
    """A number that can take an SMS (landlines, 02xx in Vietnam, cannot)."""
    number = phonenumbers.parse(parse_phone(phone))
    return phonenumbers.number_type(number) in (phonenumbers.PhoneNumberType.MOBILE,
                                                 phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


@hooks.writes_when(lambda data: bool(data.get("notify")))
def record(conn: Connection, site: Any, data: dict[str, Any], row: dict[str, Any]) -> None:
    """Store the request with the submission (intake's on_submission hook)."""
    asked = data.get("notify")
    if not asked:
        return
    given = consent.consent_for(site.name)
    assert given is not None  # validate() refused the request otherwise
    contact = row["email"] if asked["by"] == "email" else row["phone"]
    conn.execute(sa.insert(notify_requests).values(
        submission_id=row["id"], channel=asked["by"], contact=contact,
        consent_version=given.version, consent_hash=given.hash, consent_at=row["submitted_at"],
        created_at=row["submitted_at"]))


def erase(conn: Connection, submission_id: str, now: dt.datetime, *, withdrawn: bool = False) -> int:
    """Erase the notice contact and cancel the notices not yet sent; the number cancelled.

    A notice a worker is sending right now is left to it: it reads the contact when it
    starts, and one that finds it erased cancels itself (``notices.prepare``).
    """
    n = notify_requests.c
    values: dict[str, Any] = {"contact": None, "erased_at": now}
    if withdrawn:
        values["withdrawn_at"] = now
    conn.execute(sa.update(notify_requests).where(
        n.submission_id == submission_id, n.erased_at.is_(None)).values(**values))
    o = db.outbox.c
    leased = sa.and_(o.lease_until.is_not(None), o.lease_until > now)
    return int(conn.execute(sa.update(db.outbox).where(
        o.submission_id == submission_id, o.destination.in_(NOTICE_DESTINATIONS),
        o.state.in_(("pending", "dead")), ~leased,
    ).values(state=CANCELLED, lease_owner=None, lease_until=None,
             last_error="cancelled: the notice contact was erased")).rowcount)


def on_redact(conn: Connection, submission_id: str, now: dt.datetime) -> None:
    """The submission's personal data is redacted: the notice contact goes with it."""
    erase(conn, submission_id, now)


def withdraw(tracking_code: str, contact: str) -> dict[str, Any]:
    """The citizen withdraws the notice consent (track page, API ``withdraw_notify``)."""
    now = db.utcnow()
    with db.write() as conn:
        row = find(conn, tracking_code, contact)
        if row is None:
            raise tracking.not_found()
        asked = conn.execute(sa.select(notify_requests.c.submission_id).where(
            notify_requests.c.submission_id == row.id)).first()
        if asked is not None:
            erase(conn, row.id, now, withdrawn=True)
    return {"tracking_code": row.tracking_code, "kind": "withdraw_notify", "requested_at": now,
            "message": WITHDRAWN_MESSAGE if asked is not None else NOT_ASKED}


def state_for(tracking_code: str) -> dict[str, Any] | None:
    """What the track page shows of a request: its channel and whether it still stands."""
    s, n = db.submissions.c, notify_requests.c
    with db.read() as conn:
        row = conn.execute(sa.select(n.channel, n.withdrawn_at, n.erased_at, n.final_notice_id)
                           .select_from(notify_requests.join(db.submissions, s.id == n.submission_id))
                           .where(s.tracking_code == tracking_code)).first()
    if row is None:
        return None
    return {"by": row.channel, "active": row.erased_at is None, "withdrawn": row.withdrawn_at is not None,
            "sent": row.final_notice_id is not None}
