"""The intake side of the forward protocol (relay → central system)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from phanhoi.central import IntakeReceiver
from phanhoi.events import Event
from phanhoi.webhooks import WebhookVerificationError, verify_headers

from . import reference, store
from .operator import get_db

bp = Blueprint("intake", __name__, url_prefix="/intake/v1")

MAX_BODY = 1024 * 1024


def problem(status: int, title: str) -> Response:
    resp = jsonify({"type": "about:blank", "title": title, "status": status})
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    return resp


def _secrets() -> list[str]:
    value = current_app.config["INTAKE_SECRET"] or ""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def receiver(conn: Any, now: str) -> IntakeReceiver | Response:
    """The SDK's receiver, recording message ids in the caller's open transaction.

    Marking an id seen and storing what it carries commit together: a crash in
    between leaves neither, so the relay's retry is not mistaken for a duplicate.
    """
    secrets = _secrets()
    if not secrets:
        return problem(503, "INTAKE_SECRET is not configured")

    def mark_seen(msg_id: str) -> bool:
        if conn.execute("SELECT 1 FROM messages WHERE webhook_id = ?", (msg_id,)).fetchone():
            return False
        conn.execute("INSERT INTO messages VALUES (?, ?, NULL, ?)", (msg_id, "pending", now))
        return True

    return IntakeReceiver(secrets, mark_seen=mark_seen)


def receive(conn: Any, now: str) -> tuple[Event, bool] | Response:
    """(event, duplicate) of an authentic message, or the error answer. Call inside a write."""
    if (request.content_length or 0) > MAX_BODY:
        return problem(413, "Body too large")
    checked = receiver(conn, now)
    if isinstance(checked, Response):
        return checked
    body = request.get_data(cache=True)
    try:
        event, duplicate = checked.handle(body, request.headers)
    except WebhookVerificationError:
        try:  # authentic, but not an event we can read: the sender's bug, not an attacker's
            verify_headers(body, request.headers, _secrets())
        except WebhookVerificationError:
            return problem(401, "Invalid webhook signature")
        return problem(400, "Body is not a valid event")
    conn.execute("UPDATE messages SET type = ? WHERE webhook_id = ?", (event.type[:64], event.id))
    return event, duplicate


def new_central_id(conn: Any) -> str:
    year = dt.datetime.now(dt.UTC).year
    count = conn.execute("SELECT count(*) FROM submissions").fetchone()[0]
    return f"TH-{year}-{count + 1:06d}"


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


@bp.post("/submissions")
def receive_submission() -> Response:
    """A new submission from the relay; the same webhook-id twice is stored once."""
    conn = get_db()
    now = store.now_iso()
    with store.write(conn):
        received = receive(conn, now)
        if isinstance(received, Response):
            return received
        event, duplicate = received
        data: Mapping[str, Any] = event.data
        if (event.type != "submission.created" or not data.get("id") or not data.get("title")
                or not data.get("content")):
            # Refused, so not seen: a corrected resend under the same id must be taken.
            conn.execute("DELETE FROM messages WHERE webhook_id = ?", (event.id,))
            return problem(422, "Expected submission.created with id, title and content")
        # The same submission under another message id (an operator replay) is still one.
        seen = conn.execute("SELECT central_id FROM submissions WHERE relay_id = ?",
                            (str(data["id"])[:64],)).fetchone()
        if seen is not None:
            conn.execute("UPDATE messages SET central_id = ? WHERE webhook_id = ?",
                         (seen["central_id"], event.id))
            return jsonify(central_id=seen["central_id"], status="received", duplicate=True)
        if duplicate:  # seen before, yet nothing stored: cannot happen with one transaction
            return problem(409, "Message seen but not stored")
        central_id = new_central_id(conn)
        location = data.get("location") or {}
        submitter = data.get("submitter") or {}
        site = data.get("site") or {}
        deadline = data.get("deadline") or (
            dt.datetime.now(dt.UTC) + dt.timedelta(days=int(current_app.config["DEADLINE_DAYS"]))
        ).isoformat(timespec="seconds")
        conn.execute(
            "INSERT INTO submissions (central_id, relay_id, tracking_code, site_key, site_name,"
            " category, agency, title, content, commune_code, address, name, phone, email,"
            " confidential, status, deadline, sequence, received_at, updated_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, 0, ?, ?, ?)",
            (central_id, str(data["id"])[:64], _text(data.get("tracking_code"), 32),
             _text(site.get("key"), 64), _text(site.get("name"), 200),
             _text(data.get("category"), 64), _text(data.get("agency"), 64),
             str(data["title"])[:300], str(data["content"])[:20000],
             _text(location.get("commune_code"), 16),
             _text(location.get("address"), 500), _text(submitter.get("name"), 200),
             _text(submitter.get("phone"), 32), _text(submitter.get("email"), 320),
             1 if data.get("confidential", True) else 0, deadline, now, now,
             json.dumps(dict(data), ensure_ascii=False)),
        )
        conn.execute("UPDATE messages SET central_id = ? WHERE webhook_id = ?",
                     (central_id, event.id))
    resp = jsonify(central_id=central_id, status="received")
    resp.status_code = 201
    return resp


@bp.post("/events")
def receive_event() -> Response:
    """Other relay events: a citizen's rating, a consent withdrawal or deletion request."""
    conn = get_db()
    now = store.now_iso()
    with store.write(conn):
        received = receive(conn, now)
        if isinstance(received, Response):
            return received
        event, duplicate = received
        row = conn.execute("SELECT central_id FROM submissions WHERE relay_id = ?",
                           (str(event.data.get("submission_id") or ""),)).fetchone()
        central_id = row["central_id"] if row else None
        if duplicate:
            return jsonify(central_id=central_id, status="received", duplicate=True)
        conn.execute("UPDATE messages SET central_id = ? WHERE webhook_id = ?", (central_id, event.id))
        conn.execute("INSERT INTO relay_events VALUES (?, ?, ?, ?, ?)",
                     (event.id, event.type[:64], event.data.get("submission_id"),
                      json.dumps(event.data, ensure_ascii=False), now))
    resp = jsonify(central_id=central_id, status="received")
    resp.status_code = 201
    return resp


@bp.get("/reference")
def reference_data() -> Response:
    """Categories (lĩnh vực) and receiving agencies this system handles."""
    return jsonify(categories=reference.CATEGORIES, agencies=reference.AGENCIES)
