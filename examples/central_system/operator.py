"""The operator pages (Vietnamese): list, detail, and the actions that send
``submission.status_changed`` back to the relay.

A reference, not a product: there is no login, so bind it to 127.0.0.1 or put
it behind your own authentication. The forms carry a CSRF token signed with
``SECRET_KEY`` and bound to the operator's session.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
import sqlite3
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse

from . import reference, store

bp = Blueprint("operator", __name__)

# One word per idea, and the citizen's words where the citizen sees the same thing
# (static/widget/i18n/vi.json "statuses" and "deadline"): "nhận" is what arrived,
# "tiếp nhận xử lý" is the decision to handle it, "hạn trả lời" is the deadline.
STATUS_LABELS = {
    "received": "Mới nhận",
    "accepted": "Đã tiếp nhận xử lý",
    "rejected": "Không tiếp nhận",
    "in_progress": "Đang xử lý",
    "answered": "Đã trả lời",
    "published": "Đã công khai kết quả",
}

#: action → (new status, statuses it may follow, button label), in the order shown:
#: the way forward first, refusing last (it ends the case).
ACTIONS: dict[str, tuple[str, frozenset[str], str]] = {
    "accept": ("accepted", frozenset({"received"}), "Tiếp nhận xử lý"),
    "in_progress": ("in_progress", frozenset({"accepted"}), "Chuyển sang đang xử lý"),
    "answer": ("answered", frozenset({"accepted", "in_progress"}), "Trả lời"),
    "publish": ("published", frozenset({"answered"}), "Công khai kết quả"),
    "reject": ("rejected", frozenset({"received", "accepted"}), "Không tiếp nhận"),
}

CSRF_MAX_AGE = 8 * 3600


def get_db() -> sqlite3.Connection:
    if "central_db" not in g:
        g.central_db = store.connect(current_app.config["DATABASE"])
    return g.central_db  # type: ignore[no-any-return]


def close_db(_exc: BaseException | None = None) -> None:
    conn = g.pop("central_db", None)
    if conn is not None:
        conn.close()


# --------------------------------------------------------------------------- CSRF


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="central.operator.csrf")


def csrf_token() -> str:
    """A token signed with SECRET_KEY and bound to this browser's session."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(16)
    return _serializer().dumps(session["csrf"])


def check_csrf() -> None:
    token = request.form.get("csrf_token", "")
    try:
        value = _serializer().loads(token, max_age=CSRF_MAX_AGE)
    except BadSignature:
        abort(400, "Phiên làm việc đã hết hạn, vui lòng tải lại trang.")
    expected = session.get("csrf")
    if not expected or not hmac.compare_digest(str(value), str(expected)):
        abort(400, "Phiên làm việc đã hết hạn, vui lòng tải lại trang.")


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "status_label": lambda s: STATUS_LABELS.get(s, s),
            "category_name": lambda c: reference.CATEGORY_NAMES.get(c, c or "—"),
            "commune_name": reference.commune_name}


# --------------------------------------------------------------------------- pages


@bp.get("/")
def index() -> str:
    rows = get_db().execute(
        "SELECT central_id, tracking_code, site_name, category, title, status, deadline,"
        " received_at FROM submissions ORDER BY received_at DESC, central_id DESC LIMIT 200"
    ).fetchall()
    return render_template("index.html", rows=rows)


def _load(central_id: str) -> sqlite3.Row:
    row = get_db().execute("SELECT * FROM submissions WHERE central_id = ?",
                           (central_id,)).fetchone()
    if row is None:
        abort(404)
    return row


@bp.get("/submissions/<central_id>")
def detail(central_id: str) -> str:
    row = _load(central_id)
    conn = get_db()
    outgoing = conn.execute("SELECT * FROM outgoing WHERE central_id = ? ORDER BY sequence",
                            (central_id,)).fetchall()
    events = conn.execute("SELECT * FROM relay_events WHERE relay_id = ? ORDER BY received_at",
                          (row["relay_id"],)).fetchall()
    data = json.loads(row["data"])
    actions = [(name, label) for name, (_s, allowed, label) in ACTIONS.items()
               if row["status"] in allowed]
    return render_template("detail.html", row=row, data=data, outgoing=outgoing,
                           events=[(e, json.loads(e["data"])) for e in events],
                           actions=actions, agencies=reference.AGENCIES,
                           unsent=any(o["sent_at"] is None for o in outgoing))


@bp.post("/submissions/<central_id>/actions")
def act(central_id: str) -> BaseResponse:
    """Change the status and tell the relay (``submission.status_changed``)."""
    check_csrf()
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400, "Thao tác không hợp lệ.")
    status, allowed, _label = ACTIONS[action]
    note = (request.form.get("note") or "").strip() or None
    answer = (request.form.get("answer") or "").strip() or None
    agency_code = (request.form.get("agency") or "").strip()
    if action == "reject" and not note:
        flash("Cần ghi lý do không tiếp nhận.", "error")
        return redirect(url_for(".detail", central_id=central_id), 303)
    if action == "answer" and not answer:
        flash("Cần nhập nội dung trả lời.", "error")
        return redirect(url_for(".detail", central_id=central_id), 303)
    agency = reference.AGENCY_NAMES.get(agency_code) if agency_code else None
    from . import publish

    public = publish.public_text(request.form) if action == "publish" else None
    if action == "publish" and public is None:
        return redirect(url_for(".detail", central_id=central_id), 303)

    conn = get_db()
    now = store.now_iso()
    with store.write(conn):
        row = _load(central_id)
        if row["status"] not in allowed:
            flash("Trạng thái đã thay đổi, vui lòng xem lại.", "error")
            return redirect(url_for(".detail", central_id=central_id), 303)
        sequence = row["sequence"] + 1
        answer_agency = agency or row["answer_agency"]
        conn.execute(
            "UPDATE submissions SET status = ?, sequence = ?, note = coalesce(?, note),"
            " answer = coalesce(?, answer), answer_agency = ?, updated_at = ? WHERE central_id = ?",
            (status, sequence, note, answer, answer_agency, now, central_id))
        data = {
            "submission_id": row["relay_id"], "central_id": central_id, "status": status,
            "note": note, "answer": answer or (row["answer"] if status == "published" else None),
            "agency": answer_agency, "deadline": row["deadline"], "sequence": sequence,
            "updated_at": now,
        }
        # Stored before sending: if the relay is down, "Gửi lại" sends it later, same id.
        conn.execute("INSERT INTO outgoing (msg_id, central_id, sequence, status, data, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     ("msg_" + secrets.token_urlsafe(18), central_id, sequence, status,
                      json.dumps(data, ensure_ascii=False), now))
        if public is not None:
            # "Công khai kết quả": the edited public text goes to the relay's public record.
            answered = conn.execute("SELECT created_at FROM outgoing WHERE central_id = ? AND status ="
                                    " 'answered' ORDER BY sequence DESC LIMIT 1", (central_id,)).fetchone()
            publish.record(conn, {"result_id": central_id, "central_id": central_id, **public,
                                  "category": row["category"], "agency": answer_agency,
                                  "received_at": row["received_at"], "deadline": row["deadline"],
                                  "answered_at": answered["created_at"] if answered else now})
    sent, failed = send_pending(central_id)
    if public is not None and not failed:
        failed = publish.send_unsent(conn)[1]
    if failed:
        flash("Đã lưu, nhưng chưa gửi được tới hệ thống của báo. Bấm “Gửi lại” sau.", "error")
    else:
        flash(f"Đã cập nhật: {STATUS_LABELS[status]}.", "ok")
    return redirect(url_for(".detail", central_id=central_id), 303)


@bp.post("/submissions/<central_id>/resend")
def resend(central_id: str) -> BaseResponse:
    """Send status events the relay has not acknowledged yet (same ids, in order)."""
    check_csrf()
    _load(central_id)
    _sent, failed = send_pending(central_id)
    flash("Chưa gửi được, thử lại sau." if failed else "Đã gửi lại.", "error" if failed else "ok")
    return redirect(url_for(".detail", central_id=central_id), 303)


def send_pending(central_id: str) -> tuple[int, int]:
    """Send unsent events of one submission in sequence order; stop at the first failure."""
    from phanhoi.central import EventSender
    from phanhoi.errors import PhanHoiError

    conn = get_db()
    pending = conn.execute("SELECT * FROM outgoing WHERE central_id = ? AND sent_at IS NULL"
                           " ORDER BY sequence", (central_id,)).fetchall()
    if not pending:
        return 0, 0
    sent = 0
    config = current_app.config
    with EventSender(config["RELAY_URL"], _events_secrets(), timeout=tuple(config["EVENT_TIMEOUT"]),
                     max_retries=int(config["EVENT_RETRIES"])) as sender:
        for event in pending:
            data = json.loads(event["data"])
            try:
                sender.send_status(
                    data["submission_id"], data["central_id"], data["status"],
                    sequence=data["sequence"], note=data["note"], answer=data["answer"],
                    agency=data["agency"], deadline=data["deadline"],
                    updated_at=data["updated_at"], msg_id=event["msg_id"])
            except PhanHoiError as exc:
                with store.write(conn):
                    conn.execute("UPDATE outgoing SET error = ? WHERE msg_id = ?",
                                 (type(exc).__name__ + ": " + str(exc)[:300], event["msg_id"]))
                return sent, len(pending) - sent
            with store.write(conn):
                conn.execute("UPDATE outgoing SET sent_at = ?, error = NULL WHERE msg_id = ?",
                             (store.now_iso(), event["msg_id"]))
            sent += 1
    return sent, 0


def _events_secrets() -> list[str]:
    value = current_app.config["EVENTS_SECRET"] or ""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


@bp.app_template_filter("when")
def _when(value: str | None) -> str:
    if not value:
        return "—"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%d/%m/%Y %H:%M")
