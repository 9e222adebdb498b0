"""The intake side of the forward protocol (relay → central system)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
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


def verified() -> tuple[str, dict[str, Any]] | Response:
    """(webhook-id, parsed body) of an authentic message, or the error answer."""
    secrets = _secrets()
    if not secrets:
        return problem(503, "INTAKE_SECRET is not configured")
    if (request.content_length or 0) > MAX_BODY:
        return problem(413, "Body too large")
    body = request.get_data(cache=True)
    try:
        msg_id = verify_headers(body, request.headers, secrets)
    except WebhookVerificationError:
        return problem(401, "Invalid webhook signature")
    try:
        document = json.loads(body)
    except ValueError:
        return problem(400, "Body is not JSON")
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        return problem(400, "Body must be {type, timestamp, data}")
    return msg_id, document


def new_central_id(conn: Any) -> str:
    year = dt.datetime.now(dt.UTC).year
    count = conn.execute("SELECT count(*) FROM submissions").fetchone()[0]
    return f"TH-{year}-{count + 1:06d}"


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


@bp.post("/submissions")
def receive_submission() -> Response:
    """A new submission from the relay; the same webhook-id twice is stored once."""
    checked = verified()
    if isinstance(checked, Response):
        return checked
    msg_id, document = checked
    if document.get("type") != "submission.created":
        return problem(422, "Expected submission.created")
    data: Mapping[str, Any] = document["data"]
    if not data.get("id") or not data.get("title") or not data.get("content"):
        return problem(422, "Submission needs id, title and content")
    conn = get_db()
    now = store.now_iso()
    with store.write(conn):
        seen = conn.execute("SELECT central_id FROM messages WHERE webhook_id = ?",
                            (msg_id,)).fetchone()
        if seen is None:
            # The same submission under another message id (an operator replay) is still one.
            seen = conn.execute("SELECT central_id FROM submissions WHERE relay_id = ?",
                                (data["id"],)).fetchone()
            if seen is not None:
                conn.execute("INSERT INTO messages VALUES (?, ?, ?, ?)",
                             (msg_id, "submission.created", seen["central_id"], now))
        if seen is not None:
            return jsonify(central_id=seen["central_id"], status="received", duplicate=True)
        central_id = new_central_id(conn)
        location = data.get("location") or {}
        submitter = data.get("submitter") or {}
        site = data.get("site") or {}
        deadline = data.get("deadline") or (
            dt.datetime.now(dt.UTC) + dt.timedelta(days=int(current_app.config["DEADLINE_DAYS"]))
        ).isoformat(timespec="seconds")
        conn.execute(
            "INSERT INTO submissions (central_id, relay_id, tracking_code, site_key, site_name,"
            " category, agency, title, content, address, name, phone, email, confidential, status,"
            " deadline, sequence, received_at, updated_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, 0, ?, ?, ?)",
            (central_id, str(data["id"])[:64], _text(data.get("tracking_code"), 32),
             _text(site.get("key"), 64), _text(site.get("name"), 200),
             _text(data.get("category"), 64), _text(data.get("agency"), 64),
             str(data["title"])[:300], str(data["content"])[:20000],
             _text(location.get("address"), 500), _text(submitter.get("name"), 200),
             _text(submitter.get("phone"), 32), _text(submitter.get("email"), 320),
             1 if data.get("confidential", True) else 0, deadline, now, now,
             json.dumps(dict(data), ensure_ascii=False)),
        )
        conn.execute("INSERT INTO messages VALUES (?, ?, ?, ?)",
                     (msg_id, "submission.created", central_id, now))
    resp = jsonify(central_id=central_id, status="received")
    resp.status_code = 201
    return resp


@bp.post("/events")
def receive_event() -> Response:
    """Other relay events: a citizen's rating, a consent withdrawal or deletion request."""
    checked = verified()
    if isinstance(checked, Response):
        return checked
    msg_id, document = checked
    event_type = str(document.get("type") or "")[:64]
    data = document["data"]
    conn = get_db()
    now = store.now_iso()
    with store.write(conn):
        row = conn.execute("SELECT central_id FROM submissions WHERE relay_id = ?",
                           (str(data.get("submission_id") or ""),)).fetchone()
        central_id = row["central_id"] if row else None
        if conn.execute("SELECT 1 FROM messages WHERE webhook_id = ?", (msg_id,)).fetchone():
            return jsonify(central_id=central_id, status="received", duplicate=True)
        conn.execute("INSERT INTO messages VALUES (?, ?, ?, ?)", (msg_id, event_type, central_id, now))
        conn.execute("INSERT INTO relay_events VALUES (?, ?, ?, ?, ?)",
                     (msg_id, event_type, data.get("submission_id"),
                      json.dumps(data, ensure_ascii=False), now))
    resp = jsonify(central_id=central_id, status="received")
    resp.status_code = 201
    return resp


@bp.get("/reference")
def reference_data() -> Response:
    """Categories (lĩnh vực) and receiving agencies this system handles."""
    return jsonify(categories=reference.CATEGORIES, agencies=reference.AGENCIES)
