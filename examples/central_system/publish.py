"""“Công khai kết quả”: the province publishes answers, and the relay shows them where people read.

An answered PAKN is published from its page with text edited for the public (no
name, phone, e-mail or address of the citizen); a PAKN that never came through
the relay (phone, Zalo, the counter) is published from ``/results`` the same way.
Each publication or withdrawal is stored before it is sent (``result.published`` /
``result.withdrawn``, signed, one ``webhook-id`` per change), so “Gửi lại” sends
what the relay missed; the relay keeps the newest event per result.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from . import reference, store
from .operator import _events_secrets, check_csrf, get_db

bp = Blueprint("publish", __name__)

#: Published at the demo's start: PAKN the province handled without the relay.
DEMO_RESULTS: list[dict[str, Any]] = [
    {"result_id": "TH-KQ-0001", "title": "Đèn chiếu sáng hỏng trên đại lộ Lê Lợi",
     "question": "Nhiều bóng đèn trên đại lộ Lê Lợi không sáng vào ban đêm, gây mất an toàn giao thông.",
     "answer": "Công ty Chiếu sáng đô thị đã kiểm tra, thay 14 bóng đèn hỏng và khắc phục xong.",
     "category": "ha-tang-ky-thuat", "agency": "so-xd", "days": (30, 22), "deadline_days": 17},
    {"result_id": "TH-KQ-0002", "title": "Rác thải tồn đọng tại chợ Vườn Hoa",
     "question": "Rác thải tồn đọng nhiều ngày ở cổng chợ, bốc mùi.",
     "answer": "UBND phường Hạc Thành đã chỉ đạo đơn vị vệ sinh thu gom trong ngày và tăng tần suất thu gom.",
     "category": "moi-truong", "agency": "ubnd-xa", "days": (20, 16), "deadline_days": 17},
    {"result_id": "TH-KQ-0003", "title": "Chậm cấp giấy chứng nhận quyền sử dụng đất",
     "question": "Hồ sơ nộp từ tháng trước nhưng chưa được giải quyết, không được thông báo lý do.",
     "answer": "Văn phòng Đăng ký đất đai đã rà soát, bổ sung hồ sơ và trả kết quả; cán bộ liên quan đã "
               "được nhắc nhở.",
     "category": "thu-tuc-hanh-chinh", "agency": "ubnd-tinh", "days": (40, 15), "deadline_days": 17},
    {"result_id": "TH-KQ-0004", "title": "Vướng mắc hoàn thuế giá trị gia tăng",
     "question": "Doanh nghiệp chưa nhận được tiền hoàn thuế đúng hạn.",
     "answer": "Thuế tỉnh đã hoàn thành hoàn thuế và hướng dẫn doanh nghiệp thủ tục điện tử.",
     "category": "doanh-nghiep", "agency": "thue-tinh", "days": (25, 10), "deadline_days": 17},
]


def _days_ago(n: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=n)).isoformat(timespec="seconds")


def record(conn: sqlite3.Connection, values: dict[str, Any], *, withdrawn: bool = False) -> None:
    """Store a publication (or a withdrawal) as the next event to send for its result."""
    event_type = "result.withdrawn" if withdrawn else "result.published"
    columns = ("result_id", "central_id", "title", "question", "answer", "category", "agency",
               "received_at", "answered_at", "deadline")
    row = {c: values.get(c) for c in columns}
    conn.execute(
        "INSERT INTO public_results (result_id, central_id, title, question, answer, category, agency,"
        " received_at, answered_at, deadline, withdrawn, msg_id, event_type, event_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT(result_id) DO UPDATE SET central_id = excluded.central_id, title = excluded.title,"
        " question = excluded.question, answer = excluded.answer, category = excluded.category,"
        " agency = excluded.agency, received_at = excluded.received_at, answered_at = excluded.answered_at,"
        " deadline = excluded.deadline, withdrawn = excluded.withdrawn, msg_id = excluded.msg_id,"
        " event_type = excluded.event_type, event_at = excluded.event_at, sent_at = NULL, error = NULL",
        (*[row[c] for c in columns], int(withdrawn), "msg_" + secrets.token_urlsafe(18), event_type,
         dt.datetime.now(dt.UTC).isoformat()))


def withdraw(conn: sqlite3.Connection, result_id: str) -> None:
    conn.execute("UPDATE public_results SET withdrawn = 1, msg_id = ?, event_type = 'result.withdrawn',"
                 " event_at = ?, sent_at = NULL, error = NULL WHERE result_id = ?",
                 ("msg_" + secrets.token_urlsafe(18), dt.datetime.now(dt.UTC).isoformat(), result_id))


def send_unsent(conn: sqlite3.Connection) -> tuple[int, int]:
    """Send every publication and withdrawal the relay has not acknowledged, oldest first."""
    from phanhoi.central import EventSender
    from phanhoi.errors import PhanHoiError

    rows = conn.execute("SELECT * FROM public_results WHERE sent_at IS NULL ORDER BY event_at").fetchall()
    if not rows:
        return 0, 0
    config = current_app.config
    sent = 0
    with EventSender(config["RELAY_URL"], _events_secrets(), timeout=tuple(config["EVENT_TIMEOUT"]),
                     max_retries=int(config["EVENT_RETRIES"])) as sender:
        for r in rows:
            data = ({"result_id": r["result_id"]} if r["withdrawn"] else {
                "result_id": r["result_id"], "central_id": r["central_id"], "title": r["title"],
                "question": r["question"], "answer": r["answer"], "category": r["category"],
                "agency": r["agency"], "commune_code": None, "received_at": r["received_at"],
                "answered_at": r["answered_at"], "deadline": r["deadline"], "url": None})
            try:
                sender.send(r["event_type"], data, msg_id=r["msg_id"])
            except PhanHoiError as exc:
                with store.write(conn):
                    conn.execute("UPDATE public_results SET error = ? WHERE msg_id = ?",
                                 (type(exc).__name__ + ": " + str(exc)[:300], r["msg_id"]))
                return sent, len(rows) - sent
            with store.write(conn):
                conn.execute("UPDATE public_results SET sent_at = ?, error = NULL WHERE msg_id = ?",
                             (store.now_iso(), r["msg_id"]))
            sent += 1
    return sent, 0


def public_text(form: Any) -> dict[str, str | None] | None:
    """The edited public title, question and answer from a form, or None (with a message)."""
    title = (form.get("public_title") or "").strip()
    answer = (form.get("public_answer") or "").strip()
    if not title or not answer:
        flash("Cần tiêu đề và nội dung trả lời để công khai.", "error")
        return None
    return {"title": title[:300], "question": (form.get("public_question") or "").strip()[:20000] or None,
            "answer": answer[:20000]}


@bp.get("/results")
def results() -> str:
    rows = get_db().execute("SELECT * FROM public_results ORDER BY event_at DESC LIMIT 200").fetchall()
    return render_template("results.html", rows=rows, categories=reference.CATEGORIES,
                           agencies=reference.AGENCIES)


@bp.post("/results")
def publish_new() -> BaseResponse:
    """Publish a PAKN the province received elsewhere (not through the relay)."""
    check_csrf()
    text = public_text(request.form)
    if text is None:
        return redirect(url_for(".results"), 303)
    category = request.form.get("category") or None
    agency = request.form.get("agency") or None
    if category not in reference.CATEGORY_NAMES or agency not in reference.AGENCY_NAMES:
        abort(400, "Lĩnh vực hoặc cơ quan không hợp lệ.")
    received = (request.form.get("received_on") or "").strip()
    conn = get_db()
    with store.write(conn):
        record(conn, {"result_id": "TH-KQ-" + secrets.token_hex(4).upper(), **text, "category": category,
                      "agency": agency, "answered_at": store.now_iso(),
                      "received_at": received + "T08:00:00+07:00" if received else None})
    _report(*send_unsent(conn))
    return redirect(url_for(".results"), 303)


@bp.post("/results/<result_id>/withdraw")
def withdraw_one(result_id: str) -> BaseResponse:
    check_csrf()
    conn = get_db()
    with store.write(conn):
        withdraw(conn, result_id)
    _report(*send_unsent(conn))
    return redirect(url_for(".results"), 303)


@bp.post("/results/resend")
def resend() -> BaseResponse:
    check_csrf()
    _report(*send_unsent(get_db()))
    return redirect(url_for(".results"), 303)


def _report(_sent: int, failed: int) -> None:
    if failed:
        flash("Đã lưu, nhưng chưa gửi được tới hệ thống của báo. Bấm “Gửi lại” sau.", "error")
    else:
        flash("Đã gửi tới hệ thống của báo.", "ok")


def seed_demo(app: Any) -> int:
    """Publish the demo's results once (a restart finds them stored and sends only what is unsent)."""
    with app.app_context():
        conn = store.connect(app.config["DATABASE"])
        try:
            if not conn.execute("SELECT 1 FROM public_results LIMIT 1").fetchone():
                with store.write(conn):
                    for item in DEMO_RESULTS:
                        received, answered = item["days"]
                        record(conn, {**{k: v for k, v in item.items() if k not in {"days", "deadline_days"}},
                                      "received_at": _days_ago(received), "answered_at": _days_ago(answered),
                                      "deadline": _days_ago(received - item["deadline_days"])})
            return send_unsent(conn)[0]
        finally:
            conn.close()
