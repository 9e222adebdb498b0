"""Submissions: intake, idempotency, lookup, status events, ratings and data requests.

Everything that changes a submission commits together with the outbox row that
announces it, so nothing accepted is ever lost and nothing is sent that was not
stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from marshmallow import ValidationError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from . import codes, db, outbox, reference, text
from .config import secret_keys
from .labels import status_label
from .schemas import SubmissionCreateSchema, flatten_errors, parse_email, parse_phone
from .sites import Site

ANSWERED = {"answered", "published"}
FINAL = {"rejected", "published"}


class IdempotencyConflictError(Exception):
    """The same Idempotency-Key came with another body."""


class NotFoundError(Exception):
    pass


class MistypedCodeError(NotFoundError):
    """The tracking code's check character does not match: a typo, not a wrong contact."""


class ConflictError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Created:
    status_code: int
    body: dict[str, Any]
    replayed: bool


# --------------------------------------------------------------------------- helpers


def _digest(kind: str, value: str, secret: str | None = None) -> str:
    """A keyed digest of a contact detail: lookups work without keeping the detail itself."""
    secret = secret if secret is not None else str(current_app.config["SECRET_KEY"])
    key = hmac.new(secret.encode(), b"phanhoi.contact.v1", hashlib.sha256).digest()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def contact_digests(contact: str) -> list[str]:
    """Every digest the typed contact may match: as a phone number and as an email, under the
    current secret key and any earlier one still accepted (``PHANHOI_SECRET_KEY_FALLBACKS``)."""
    contact = text.clean(contact)
    forms: list[tuple[str, str]] = []
    try:
        forms.append(("phone", parse_phone(contact)))
    except ValidationError:
        pass
    if "@" in contact:
        try:
            forms.append(("email", parse_email(contact).casefold()))
        except ValidationError:
            forms.append(("email", contact.casefold()))
    forms = forms or [("none", contact)]
    return [_digest(kind, value, secret) for secret in secret_keys(current_app.config)
            for kind, value in forms]


def status_url(code: str) -> str:
    return f"{current_app.config['PUBLIC_URL']}/api/v1/submissions/{code}"


def _request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def schema_for(site: Site) -> SubmissionCreateSchema:
    return SubmissionCreateSchema(
        categories={c["code"] for c in reference.categories_for(site)},
        agencies={a["code"] for a in reference.agencies_for(site)},
        communes={c["code"] for c in reference.communes(site.province_code)},
        consent_version=reference.consent_for(site.name).version,
    )


def validate(site: Site, payload: Any) -> dict[str, Any]:
    """The cleaned submission, or ValidationError with dotted-path messages."""
    if not isinstance(payload, dict):
        raise ValidationError({"_schema": ["Dữ liệu phải là một đối tượng JSON."]})
    try:
        data = schema_for(site).load(payload)
    except ValidationError as exc:
        raise ValidationError(flatten_errors(exc.messages)) from exc
    if data.get("hp"):
        # A field hidden from people was filled: a bot. Say nothing more specific.
        raise ValidationError({"_schema": ["Không thể gửi phản ánh. Vui lòng thử lại."]})
    return data


# --------------------------------------------------------------------------- intake


def forward_data(row: Any, site: Site, attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ``data`` of ``submission.created`` (DESIGN.md "Shapes")."""
    consent = reference.consent_for(site.name)
    return {
        "id": row["id"],
        "tracking_code": row["tracking_code"],
        "category": row["category"],
        "agency": row["agency"],
        "title": row["title"],
        "content": row["content"],
        "location": {
            "commune_code": row["commune_code"],
            "address": row["address"],
            "lat": row["lat"],
            "lon": row["lon"],
        },
        "submitter": {"name": row["name"], "phone": row["phone"], "email": row["email"]},
        "confidential": row["confidential"],
        "consent": {
            "version": row["consent_version"],
            "text_sha256": row["consent_hash"],
            "accepted_at": row["consent_at"].isoformat(),
            "recipient": consent.recipient,
        },
        "site": {"key": site.key, "name": site.name},
        "source_url": row["source_url"],
        "src": row["src"],
        "via": row["via"],
        "submitted_at": row["submitted_at"].isoformat(),
        "deadline": row["deadline"].isoformat() if row["deadline"] else None,
        "attachments": attachments or [],
    }


def create_submission(site: Site, payload: Any, *, via: str, **options: Any) -> dict[str, Any]:
    """Validate and store a submission with its outbox row; returns the 201 body.

    Takes the options of :func:`create_idempotent`.
    """
    return create_idempotent(site, payload, via=via, **options).body


def create_idempotent(
    site: Site,
    payload: Any,
    *,
    via: str,
    src: str | None = None,
    idempotency_key: str | None = None,
    store_attachments: Any = None,
    request_hash: str | None = None,
) -> Created:
    """Validate and store, or replay the answer given to the same ``idempotency_key``.

    ``store_attachments(conn, submission_id) -> list[dict]``, when given, runs in the
    same transaction and returns the attachment descriptors for the forwarded body.
    """
    data = validate(site, payload)
    req_hash = request_hash or _request_hash(payload)
    if idempotency_key:
        previous = _replay(site, idempotency_key, req_hash)
        if previous:
            return previous
    try:
        with db.write() as conn:
            body = _insert(conn, site, data, via=via, src=src or data.get("src"),
                           store_attachments=store_attachments)
            if idempotency_key:
                # A key past its TTL is free again: drop the old answer, or the insert clashes.
                k = db.idempotency_keys.c
                conn.execute(sa.delete(db.idempotency_keys).where(
                    k.site_id == site.id, k.key == idempotency_key,
                    k.created_at <= db.utcnow() - _idempotency_ttl()))
                conn.execute(sa.insert(db.idempotency_keys), {
                    "site_id": site.id, "key": idempotency_key, "request_hash": req_hash,
                    "status_code": 201, "response": body, "created_at": db.utcnow(),
                })
    except IntegrityError:
        # Another request with the same key committed first: answer as it did.
        if idempotency_key:
            previous = _replay(site, idempotency_key, req_hash)
            if previous:
                return previous
        raise
    return Created(201, body, False)


def _idempotency_ttl() -> dt.timedelta:
    return dt.timedelta(hours=int(current_app.config["IDEMPOTENCY_TTL_HOURS"]))


def _replay(site: Site, key: str, req_hash: str) -> Created | None:
    ttl = _idempotency_ttl()
    with db.read() as conn:
        row = conn.execute(
            sa.select(db.idempotency_keys).where(
                db.idempotency_keys.c.site_id == site.id, db.idempotency_keys.c.key == key,
                db.idempotency_keys.c.created_at > db.utcnow() - ttl,
            )
        ).one_or_none()
    if row is None:
        return None
    if not hmac.compare_digest(row.request_hash, req_hash):
        raise IdempotencyConflictError(key)
    return Created(row.status_code, dict(row.response), True)


def _insert(conn: Connection, site: Site, data: dict[str, Any], *, via: str, src: str | None,
            store_attachments: Any) -> dict[str, Any]:
    now = db.utcnow()
    submitter = data["submitter"]
    location = data.get("location") or {}
    phone = parse_phone(submitter["phone"]) if submitter.get("phone") else None
    email = parse_email(submitter["email"]) if submitter.get("email") else None
    consent = reference.consent_for(site.name)
    row: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "tracking_code": codes.generate(),
        "site_id": site.id,
        "via": via,
        "src": src,
        "source_url": data.get("source_url"),
        "category": data["category"],
        "agency": data.get("agency") or None,
        "title": data["title"],
        "content": data["content"],
        "commune_code": location.get("commune_code") or None,
        "address": location.get("address") or None,
        "lat": location.get("lat"),
        "lon": location.get("lon"),
        "name": submitter["name"],
        "phone": phone,
        "email": email,
        "phone_digest": _digest("phone", phone) if phone else None,
        "email_digest": _digest("email", email.casefold()) if email else None,
        "confidential": data.get("confidential", True),
        "consent_version": consent.version,
        "consent_hash": consent.hash,
        "consent_at": now,
        "status": "received",
        "status_sequence": 0,
        "deadline": now + dt.timedelta(days=int(current_app.config["DEADLINE_DAYS"])),
        "submitted_at": now,
        "updated_at": now,
    }
    for _ in range(5):  # 40 random bits: a collision is rare, but never fatal
        exists = conn.execute(
            sa.select(db.submissions.c.id).where(
                db.submissions.c.tracking_code == row["tracking_code"])
        ).first()
        if not exists:
            break
        row["tracking_code"] = codes.generate()
    # Statement and parameters apart: the compiled INSERT is cached, not rebuilt per request.
    conn.execute(sa.insert(db.submissions), row)
    conn.execute(sa.insert(db.history), {"submission_id": row["id"], "status": "received",
                                         "note": None, "sequence": 0, "at": now})
    files = store_attachments(conn, row["id"]) if store_attachments else []
    outbox.enqueue(conn, destination=site.destination, event_type="submission.created",
                   data=forward_data(row, site, files), submission_id=row["id"], at=now)
    return {
        "id": row["id"],
        "tracking_code": row["tracking_code"],
        "status": "received",
        "status_url": status_url(row["tracking_code"]),
    }


# --------------------------------------------------------------------------- lookup


_DUMMY_DIGEST = "0" * 64


def find(conn: Connection, tracking_code: str, contact: str) -> Any:
    """The submission row when code and contact match; the same None for either miss.

    Raises :class:`MistypedCodeError` when the code's check character is wrong: that
    says nothing about which submissions exist, and it tells the citizen what to fix."""
    if codes.verdict(tracking_code or "") == "mistyped":
        raise MistypedCodeError(tracking_code)
    canonical = codes.normalise(tracking_code or "")
    row = None
    if canonical:
        row = conn.execute(
            sa.select(db.submissions).where(db.submissions.c.tracking_code == canonical)
        ).one_or_none()
    candidates = contact_digests(contact or "")
    stored = [row.phone_digest, row.email_digest] if row is not None else [_DUMMY_DIGEST]
    match = False
    for digest in candidates:
        for known in stored:
            # Compare every pair, so timing does not tell which (if any) matched.
            match |= hmac.compare_digest(digest, known or _DUMMY_DIGEST)
    return row if (row is not None and match) else None


def overdue(row: Any, now: dt.datetime | None = None) -> bool:
    now = now or db.utcnow()
    return bool(row.deadline and row.status not in ANSWERED | FINAL and now > row.deadline)


def describe(conn: Connection, row: Any, lang: str = "vi") -> dict[str, Any]:
    # In the order the relay learned of them: the central system's clock may lag ours.
    entries = conn.execute(
        sa.select(db.history).where(db.history.c.submission_id == row.id).order_by(db.history.c.id)
    ).all()
    answer = None
    if row.answer_text:
        answer = {"text": row.answer_text, "agency": row.answer_agency,
                  "answered_at": _iso(row.answered_at)}
    rating = None
    if row.rated_at:
        rating = {"satisfied": row.rating_satisfied, "comment": row.rating_comment,
                  "rated_at": _iso(row.rated_at)}
    return {
        "tracking_code": row.tracking_code,
        "status": row.status,
        "status_label": status_label(row.status, lang),
        "category": row.category,
        "title": row.title,
        "submitted_at": _iso(row.submitted_at),
        "deadline": _iso(row.deadline),
        "overdue": overdue(row),
        "history": [
            {"status": e.status, "status_label": status_label(e.status, lang), "at": _iso(e.at),
             "note": e.note}
            for e in entries
        ],
        "answer": answer,
        "rating": rating,
        "can_rate": row.status in ANSWERED and row.rated_at is None,
        "consent_withdrawn": row.consent_withdrawn_at is not None,
        "redacted": row.redacted_at is not None,
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def lookup(tracking_code: str, contact: str, lang: str = "vi") -> dict[str, Any] | None:
    with db.read() as conn:
        row = find(conn, tracking_code, contact)
        return describe(conn, row, lang) if row is not None else None


# --------------------------------------------------------------------------- central events


def apply_status_event(msg_id: str, data: dict[str, Any]) -> tuple[bool, bool]:
    """Apply a status event; returns (duplicate, applied).

    Duplicate webhook ids are dropped; an event older than the newest sequence
    already applied is recorded as seen but changes nothing (DESIGN.md).
    """
    now = db.utcnow()
    try:
        return _apply_status_event(msg_id, data, now)
    except IntegrityError:
        # The same webhook id was being applied at the same moment and committed first.
        with db.read() as conn:
            if conn.execute(sa.select(db.inbound_events.c.id)
                            .where(db.inbound_events.c.id == msg_id)).first():
                return True, False
        raise


def _apply_status_event(msg_id: str, data: dict[str, Any], now: dt.datetime) -> tuple[bool, bool]:
    with db.write() as conn:
        query = sa.select(db.submissions).where(db.submissions.c.id == data["submission_id"])
        if db.is_postgres(conn):
            # Events for one submission apply one at a time (SQLite's BEGIN IMMEDIATE already
            # does this): otherwise two of them read the same sequence and the older may win.
            query = query.with_for_update()
        row = conn.execute(query).one_or_none()
        seen = conn.execute(
            sa.select(db.inbound_events.c.id).where(db.inbound_events.c.id == msg_id)
        ).first()
        if seen:
            return True, False
        if row is None:
            raise NotFoundError(data["submission_id"])
        conn.execute(sa.insert(db.inbound_events).values(
            id=msg_id, event_type="submission.status_changed", received_at=now))
        if data["sequence"] <= row.status_sequence:  # sequences start at 1 and only grow
            return False, False
        values: dict[str, Any] = {
            "status": data["status"],
            "status_sequence": data["sequence"],
            "status_note": data.get("note"),
            "updated_at": now,
        }
        if row.forwarded_at is None:
            # The central system speaks of the submission, so it has it, even if the answer to
            # our forward has not been recorded yet: withdrawals and deletions must now be
            # told to it, not settled by cancelling the forward (retention.py).
            values["forwarded_at"] = now
            _resend_cancelled_data_requests(conn, row, now)
        if data.get("central_id"):
            values["central_id"] = data["central_id"]
        if data.get("deadline"):
            values["deadline"] = data["deadline"]
        if data.get("answer"):
            values["answer_text"] = text.clean(data["answer"], multiline=True)
            values["answer_agency"] = data.get("agency")
            values["answered_at"] = data.get("updated_at") or now
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == row.id).values(**values))
        conn.execute(sa.insert(db.history).values(
            submission_id=row.id, status=data["status"], note=data.get("note"),
            sequence=data["sequence"], at=data.get("updated_at") or now))
    return False, True


def _resend_cancelled_data_requests(conn: Connection, row: Any, now: dt.datetime) -> None:
    """A request settled by cancelling the forward must reach the central system after all.

    If the citizen withdrew consent or asked for deletion while the forward looked
    undelivered, the forward and the request were cancelled together. A status event
    proves the submission got there anyway, so the request goes now (Law 91/2025/QH15).
    """
    kinds = [kind for kind, at in (("withdraw_consent", row.consent_withdrawn_at),
                                   ("delete", row.deletion_requested_at)) if at is not None]
    if not kinds:
        return
    live = conn.execute(sa.select(sa.func.count()).select_from(db.outbox).where(
        db.outbox.c.submission_id == row.id,
        db.outbox.c.event_type == "submission.data_request",
        db.outbox.c.state != "cancelled")).scalar_one()
    if live:
        return
    destination, _key, _name = _site_destination(conn, row.site_id)
    for kind in kinds:
        outbox.enqueue(conn, destination=destination, event_type="submission.data_request",
                       submission_id=row.id, at=now, data={
                           "submission_id": row.id, "central_id": row.central_id,
                           "tracking_code": row.tracking_code, "kind": kind,
                           "requested_at": (row.deletion_requested_at if kind == "delete"
                                            else row.consent_withdrawn_at).isoformat()})


def mark_forwarded(conn: Connection, submission_id: str, central_id: str | None,
                   central_status: str | None = None) -> None:
    """Record the central system's acknowledgement (called by the outbox worker)."""
    now = db.utcnow()
    query = (sa.select(db.submissions.c.status, db.submissions.c.forwarded_at)
             .where(db.submissions.c.id == submission_id))
    if db.is_postgres(conn):
        # A status event may be applied at this very moment: never turn it back to "forwarded".
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        return
    values: dict[str, Any] = {"forwarded_at": row.forwarded_at or now, "updated_at": now}
    if central_id:
        values["central_id"] = central_id
    if row.status == "received":
        values["status"] = "forwarded"
        conn.execute(sa.insert(db.history).values(
            submission_id=submission_id, status="forwarded", note=None, sequence=None, at=now))
    conn.execute(sa.update(db.submissions).where(db.submissions.c.id == submission_id)
                 .values(**values))


# --------------------------------------------------------------------------- citizen actions


def _action_key(action: str, submission_id: str, key: str) -> str:
    """Where a citizen action's Idempotency-Key is kept: per submission, so one key
    cannot touch another citizen's request (the key itself is hashed: any length fits)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{action}:{submission_id}:{digest}"


def _action_replay(conn: Connection, row: Any, action: str, key: str | None,
                   req_hash: str) -> dict[str, Any] | None:
    """The answer given to an earlier request with this key, if any (within the TTL)."""
    if not key:
        return None
    k = db.idempotency_keys.c
    found = conn.execute(sa.select(db.idempotency_keys).where(
        k.site_id == row.site_id, k.key == _action_key(action, row.id, key),
        k.created_at > db.utcnow() - _idempotency_ttl())).one_or_none()
    if found is None:
        return None
    if not hmac.compare_digest(found.request_hash, req_hash):
        raise IdempotencyConflictError(key)
    return dict(found.response)


def _action_remember(conn: Connection, row: Any, action: str, key: str | None, req_hash: str,
                     status_code: int, response: dict[str, Any]) -> None:
    if not key:
        return
    k = db.idempotency_keys.c
    stored_key = _action_key(action, row.id, key)
    conn.execute(sa.delete(db.idempotency_keys).where(k.site_id == row.site_id, k.key == stored_key))
    conn.execute(sa.insert(db.idempotency_keys), {
        "site_id": row.site_id, "key": stored_key, "request_hash": req_hash,
        "status_code": status_code, "response": response, "created_at": db.utcnow()})


def _site_destination(conn: Connection, site_id: int) -> tuple[str, str, str]:
    row = conn.execute(sa.select(db.sites.c.destination, db.sites.c.site_key, db.sites.c.name)
                       .where(db.sites.c.id == site_id)).one()
    return row.destination, row.site_key, row.name


def rate(tracking_code: str, contact: str, satisfied: bool, comment: str | None,
         lang: str = "vi", *, idempotency_key: str | None = None) -> dict[str, Any]:
    """Record the rating; a retry with the same ``idempotency_key`` gets the answer again
    instead of "already rated"."""
    now = db.utcnow()
    req_hash = _request_hash({"satisfied": satisfied, "comment": comment})
    with db.write() as conn:
        row = find(conn, tracking_code, contact)
        if row is None:
            raise NotFoundError(tracking_code)
        if _action_replay(conn, row, "rating", idempotency_key, req_hash) is not None:
            return describe(conn, row, lang)  # the state now, which holds this rating
        if row.status not in ANSWERED:
            raise ConflictError("Chỉ có thể đánh giá sau khi phản ánh đã được trả lời.")
        if row.rated_at is not None:
            raise ConflictError("Bạn đã đánh giá phản ánh này.")
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == row.id).values(
            rating_satisfied=satisfied, rating_comment=comment, rated_at=now, updated_at=now))
        destination, _key, _name = _site_destination(conn, row.site_id)
        outbox.enqueue(conn, destination=destination, event_type="submission.rated",
                       submission_id=row.id, data={
                           "submission_id": row.id, "central_id": row.central_id,
                           "tracking_code": row.tracking_code, "satisfied": satisfied,
                           "comment": comment, "rated_at": now.isoformat()})
        _action_remember(conn, row, "rating", idempotency_key, req_hash, 200, {})
        fresh = conn.execute(sa.select(db.submissions).where(db.submissions.c.id == row.id)).one()
        return describe(conn, fresh, lang)


DATA_REQUEST_MESSAGES = {
    "withdraw_consent": "Đã ghi nhận yêu cầu rút lại đồng ý. Hệ thống tỉnh được thông báo; "
                        "bạn sẽ nhận phản hồi trong 2 ngày làm việc.",
    "delete": "Đã ghi nhận yêu cầu xoá dữ liệu cá nhân. Hệ thống tỉnh được thông báo; "
              "bạn sẽ nhận phản hồi trong 2 ngày làm việc.",
}


def data_request(tracking_code: str, contact: str, kind: str, *,
                 idempotency_key: str | None = None) -> dict[str, Any]:
    """Withdraw consent or ask for deletion (Law 91/2025/QH15); forwarded as an event.

    A retry with the same ``idempotency_key`` gets the first answer and is forwarded once."""
    now = db.utcnow()
    req_hash = _request_hash({"kind": kind})
    with db.write() as conn:
        row = find(conn, tracking_code, contact)
        if row is None:
            raise NotFoundError(tracking_code)
        previous = _action_replay(conn, row, "data-request", idempotency_key, req_hash)
        if previous is not None:
            return previous
        column = "consent_withdrawn_at" if kind == "withdraw_consent" else "deletion_requested_at"
        conn.execute(sa.update(db.submissions).where(db.submissions.c.id == row.id)
                     .values(**{column: now, "updated_at": now}))
        destination, _key, _name = _site_destination(conn, row.site_id)
        outbox.enqueue(conn, destination=destination, event_type="submission.data_request",
                       submission_id=row.id, data={
                           "submission_id": row.id, "central_id": row.central_id,
                           "tracking_code": row.tracking_code, "kind": kind,
                           "requested_at": now.isoformat()})
        answer = {"tracking_code": row.tracking_code, "kind": kind,
                  "requested_at": now.isoformat(), "message": DATA_REQUEST_MESSAGES[kind]}
        _action_remember(conn, row, "data-request", idempotency_key, req_hash, 202, answer)
    # Deletion (and a withdrawal before the forward) takes effect now, not at the next
    # retention run; see retention.py for what is cancelled and what is kept.
    from . import retention

    retention.apply_data_request(row.tracking_code)
    return answer
